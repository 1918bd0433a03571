// A route's `match.path` (and basicAuth `excludePaths`): the request path
// before '?', matched against a pattern where `*` stands for any run of
// characters, '/' included ("/api/*" matches "/api/v1/users"), as the
// package's path matcher does. Without `*` the path must be equal.
// Case-sensitive; no percent-decoding (the path is compared as sent).
//
// Matching is linear in practice and O(pattern x path) at worst (the greedy
// two-pointer algorithm, no backtracking explosion); it never allocates.
// Immutable after compile(); share freely.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace basalt::proxy {

class PathPattern {
 public:
  // Longest pattern accepted.
  static constexpr std::size_t kMaxLength = 4096;

  // A pattern starting with '/' or '*', at most kMaxLength bytes, without
  // spaces or control characters; else nullopt and `error` says why.
  static std::optional<PathPattern> compile(std::string_view pattern, std::string* error = nullptr);

  bool match(std::string_view path) const noexcept;
  const std::string& text() const noexcept { return pattern_; }
  // How many literal characters: the more, the more specific.
  std::size_t literal_length() const noexcept { return literal_; }

 private:
  std::string pattern_;
  std::size_t literal_ = 0;
};

}  // namespace basalt::proxy
