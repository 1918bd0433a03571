#include "nftables/table_ownership.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace basalt::proxy {

TableOwnership::TableOwnership(std::filesystem::path state_dir)
    : dir_(std::move(state_dir)), file_(dir_ / "nftables-tables") {}

std::string TableOwnership::owner_comment() {
  return fmt::format("{} pid={}", kMarker, ::getpid());
}

std::string TableOwnership::comment_of(std::string_view listing) {
  // "table inet NAME {\n\tcomment \"...\"\n": the comment, when any, is the
  // table's first line.
  const auto open = listing.find("{\n");
  if (open == std::string_view::npos) return {};
  std::string_view rest = listing.substr(open + 2);
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty() && (rest.front() == '\t' || rest.front() == ' ')) rest.remove_prefix(1);
  constexpr std::string_view kKey = "comment \"";
  if (!rest.starts_with(kKey) || !rest.ends_with('"')) return {};
  rest.remove_prefix(kKey.size());
  rest.remove_suffix(1);
  return std::string(rest);
}

std::set<std::string> TableOwnership::listed() const {
  std::set<std::string> names;
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) names.insert(line);
  }
  return names;
}

void TableOwnership::record(const std::set<std::string>& names) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const auto temp = file_.string() + ".new";
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const auto& name : names) out << name << '\n';
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", temp));
  }
  std::filesystem::rename(temp, file_, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot write {}: {}", file_.string(), ec.message()));
}

}  // namespace basalt::proxy
