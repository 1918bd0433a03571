// PathPattern (path_pattern.hpp).
#include "routes/path_pattern.hpp"

namespace basalt::proxy {

std::optional<PathPattern> PathPattern::compile(std::string_view pattern, std::string* error) {
  auto fail = [error](const char* why) -> std::optional<PathPattern> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (pattern.empty() || (pattern.front() != '/' && pattern.front() != '*')) {
    return fail("is not a path pattern (it starts with '/' or '*', e.g. \"/api/*\")");
  }
  if (pattern.size() > kMaxLength) return fail("is longer than 4096 bytes");
  for (unsigned char c : pattern) {
    if (c <= 0x20 || c == 0x7f) return fail("holds a space or a control character");
  }
  PathPattern p;
  p.pattern_ = std::string(pattern);
  for (char c : pattern) p.literal_ += c != '*';
  return p;
}

bool PathPattern::match(std::string_view path) const noexcept {
  const std::string_view pat = pattern_;
  std::size_t p = 0, s = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (s < path.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      resume = s;
    } else if (p < pat.size() && pat[p] == path[s]) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace basalt::proxy
