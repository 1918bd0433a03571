#include "basalt/http/headers.hpp"

#include <algorithm>

namespace basalt::http {

namespace {
constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

Headers::Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  fields_.reserve(fields.size());
  for (auto& [n, v] : fields) add(n, v);
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
  for (auto& f : fields_) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (auto& f : fields_) {
    if (iequals(f.name, name)) out.emplace_back(f.value);
  }
  return out;
}

void Headers::add(std::string_view name, std::string_view value) {
  fields_.push_back({std::string(name), std::string(value)});
}

void Headers::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

std::size_t Headers::erase(std::string_view name) {
  auto n = fields_.size();
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.name, name); });
  return n - fields_.size();
}

std::size_t Headers::byte_size() const noexcept {
  std::size_t n = 0;
  for (auto& f : fields_) n += f.name.size() + f.value.size();
  return n;
}

}  // namespace basalt::http
