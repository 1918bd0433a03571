// HeaderPattern (header_pattern.hpp).
#include "routes/header_pattern.hpp"

#include <fmt/format.h>

namespace basalt::proxy {

bool HeaderPattern::valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name) {
    const bool token =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!token) return false;
  }
  return true;
}

std::optional<HeaderPattern> HeaderPattern::compile(std::string_view name, std::string_view value,
                                                    std::string* error) {
  HeaderPattern p;
  p.name_ = std::string(name);
  if (value.size() >= 2 && value.front() == '/' && value.back() == '/') {
    try {
      p.regex_ = std::make_shared<const std::regex>(std::string(value.substr(1, value.size() - 2)),
                                                    std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      if (error)
        *error = fmt::format("is not a regular expression (ECMAScript) between slashes: {}", e.what());
      return std::nullopt;
    }
  } else {
    p.exact_ = std::string(value);
  }
  return p;
}

bool HeaderPattern::match(const http::Headers& headers) const {
  for (const auto& f : headers) {
    if (!http::iequals(f.name, name_)) continue;
    if (!regex_) {
      if (f.value == exact_) return true;
    } else if (f.value.size() <= kMaxRegexValue && std::regex_search(f.value, *regex_)) {
      return true;
    }
  }
  return false;
}

}  // namespace basalt::proxy
