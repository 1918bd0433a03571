// A route's `security.basicAuth`, compiled: checks a request's
// `Authorization: Basic ...` against the configured users (RFC 7617), with a
// comparison whose time does not depend on where the credentials differ.
// Paths matching `excludePaths` pass without credentials.
//
// Immutable after construction; share freely.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "basalt/proxy/options.hpp"
#include "routes/path_pattern.hpp"

namespace basalt::proxy {

class BasicAuthCheck {
 public:
  explicit BasicAuthCheck(const BasicAuth& config);

  // True when the request may pass: its path is excluded, or
  // `authorization` (the field's value, may be empty) names a user with the
  // right password.
  bool allows(std::string_view path, std::string_view authorization) const;
  // The WWW-Authenticate value of the 401: `Basic realm="...", charset="UTF-8"`.
  const std::string& challenge() const noexcept { return challenge_; }

 private:
  std::vector<std::string> credentials_;  // "user:password" per user
  std::vector<PathPattern> excluded_;
  std::string challenge_;
};

}  // namespace basalt::proxy
