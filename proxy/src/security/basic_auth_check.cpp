// BasicAuthCheck (basic_auth_check.hpp).
#include "security/basic_auth_check.hpp"

#include <openssl/crypto.h>

#include "basalt/core/encoding.hpp"

namespace basalt::proxy {

BasicAuthCheck::BasicAuthCheck(const BasicAuth& config)
    : challenge_("Basic realm=\"" + config.realm + "\", charset=\"UTF-8\"") {
  for (const auto& u : config.users) credentials_.push_back(u.username + ":" + u.password);
  for (const auto& p : config.exclude_paths) {
    if (auto compiled = PathPattern::compile(p)) excluded_.push_back(std::move(*compiled));
  }
}

bool BasicAuthCheck::allows(std::string_view path, std::string_view authorization) const {
  for (const auto& p : excluded_) {
    if (p.match(path)) return true;
  }
  // "Basic" is case-insensitive (RFC 9110 §11.1), then one or more spaces.
  if (authorization.size() < 6) return false;
  for (std::size_t i = 0; i < 5; ++i) {
    if ((authorization[i] | 0x20) != "basic"[i]) return false;
  }
  if (authorization[5] != ' ') return false;
  auto token = authorization.substr(6);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.size() > 4096) return false;
  auto decoded = core::base64_decode(token);
  if (!decoded) return false;
  bool ok = false;
  for (const auto& c : credentials_) {
    // Every user is compared, so the time does not say which one matched.
    if (c.size() == decoded->size() && CRYPTO_memcmp(c.data(), decoded->data(), c.size()) == 0) ok = true;
  }
  return ok;
}

}  // namespace basalt::proxy
