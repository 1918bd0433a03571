// Which nftables tables are this proxy's to replace or delete. A table is
// the proxy's only when both hold:
//   - its name is in the state file <stateDir>/nftables-tables (one name a
//     line), written before any transaction that creates a table, and
//   - its comment, as the kernel lists it back, starts with "basalt-proxy".
// A table that fails either test is never touched, whatever its name; a
// route that names it fails instead. The comment also carries the pid of
// the process that installed the table: a proxy that stops deletes only
// the tables that still carry its own pid (after a socket takeover they
// carry the successor's).
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace basalt::proxy {

class TableOwnership {
 public:
  static constexpr std::string_view kMarker = "basalt-proxy";

  explicit TableOwnership(std::filesystem::path state_dir);

  // The comment this process puts on its tables: "basalt-proxy pid=<pid>".
  static std::string owner_comment();
  // The table's comment from `nft list table` text output; "" when none.
  static std::string comment_of(std::string_view listing);
  static bool is_ours(std::string_view comment) { return comment.starts_with(kMarker); }
  static bool is_this_process(std::string_view comment) { return comment == owner_comment(); }

  // The names in the state file (empty when there is none).
  std::set<std::string> listed() const;
  // Replaces the state file (written whole, then renamed); throws
  // std::runtime_error naming the file when it cannot be written.
  void record(const std::set<std::string>& names) const;

  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

}  // namespace basalt::proxy
