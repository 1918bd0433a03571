// A compiled list of client address patterns: addresses (`127.0.0.1`,
// `::1`), CIDR prefixes (`10.0.0.0/8`) and globs on the address text
// (`192.168.*`, `10.*.*.1`, `fe80::*`), as smartproxy's `clientIp`,
// `ipAllowList` and `ipBlockList` take them.
//
// Compile once (control plane), match per connection (data plane): matches()
// never allocates or throws. An IPv4-mapped IPv6 client (`::ffff:10.1.2.3`,
// what a dual-stack socket reports) matches IPv4 addresses, prefixes and
// globs. Immutable after compile(); safe to share between threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "basalt/core/glob.hpp"
#include "basalt/core/ip.hpp"

namespace basalt::proxy {

class IpPatternList {
 public:
  // An empty list (matches nothing).
  IpPatternList() = default;

  // Compiles every pattern. On failure returns nullopt, sets `error` to the
  // reason in a form that reads after the quoted pattern ("is not an IP
  // address, a CIDR prefix or a glob such as 192.168.*") and `bad_index` to
  // the index of the pattern that failed.
  static std::optional<IpPatternList> compile(const std::vector<std::string>& patterns,
                                              std::string* error = nullptr, std::size_t* bad_index = nullptr);

  // True if any pattern matches `address`. Never allocates.
  bool matches(const core::IpAddress& address) const noexcept;
  bool empty() const noexcept { return prefixes_.empty() && globs_.empty(); }

 private:
  std::vector<core::Cidr> prefixes_;  // addresses are /32 and /128 prefixes
  std::vector<core::Glob> globs_;
};

}  // namespace basalt::proxy
