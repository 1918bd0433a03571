// One entry of a route's `match.headers`: a request header that must be
// present with an exact value, or, written "/regex/", with a value the
// ECMAScript regular expression finds a match in. Names compare without
// regard to case; a request with the field repeated matches when any value
// does.
//
// Bound: std::regex backtracks and recurses, so values longer than
// kMaxRegexValue bytes never match a regex pattern (exact values have no
// limit). Immutable after compile(); share freely (std::regex matching is
// const and thread-safe).
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "basalt/http/headers.hpp"

namespace basalt::proxy {

class HeaderPattern {
 public:
  static constexpr std::size_t kMaxRegexValue = 1024;

  // RFC 9110 token characters, 1-256 bytes.
  static bool valid_name(std::string_view name) noexcept;
  // nullopt (and `error`) when `value` is "/.../" but not a regex.
  static std::optional<HeaderPattern> compile(std::string_view name, std::string_view value,
                                              std::string* error = nullptr);

  bool match(const http::Headers& headers) const;
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::string exact_;
  std::shared_ptr<const std::regex> regex_;  // null: exact match
};

}  // namespace basalt::proxy
