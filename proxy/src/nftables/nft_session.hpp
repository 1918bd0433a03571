// One libnftables context: runs nft scripts (each one kernel transaction,
// applied whole or not at all) and list commands, with nft's own messages.
//
//   NftSession nft;
//   nft.run("table inet t\ndelete table inet t\n");  // throws NftError
//   auto text = nft.query("list table inet t");       // nullopt: no such table
//
// Thread-safety: none; the proxy calls it under its control mutex.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

struct nft_ctx;

namespace basalt::proxy {

// What nft said when a script failed.
class NftError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class NftSession {
 public:
  // Throws NftError when libnftables cannot make a context.
  NftSession();
  ~NftSession();
  NftSession(const NftSession&) = delete;
  NftSession& operator=(const NftSession&) = delete;

  // Runs `script` as one transaction; throws NftError with nft's error text.
  void run(const std::string& script);
  // The output of a command, as text or JSON; nullopt when it fails.
  std::optional<std::string> query(const std::string& command, bool json = false);

 private:
  nft_ctx* ctx_ = nullptr;
};

}  // namespace basalt::proxy
