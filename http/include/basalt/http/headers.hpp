// HTTP header fields: an ordered list of name/value pairs with
// case-insensitive lookup.
//
// Used by Request and Response for both HTTP/1.1 and HTTP/2. Order and
// repeated fields are kept as received (a proxy can forward them unchanged);
// names are stored as given, compared without regard to ASCII case. HTTP/2
// pseudo-headers (":path") never appear here: they are parsed into Request.
// A small regular value type; thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::http {

// ASCII case-insensitive equality, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

class Headers {
 public:
  struct Field {
    std::string name;
    std::string value;
  };
  using const_iterator = std::vector<Field>::const_iterator;

  Headers() = default;
  Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

  // The first value of `name`, or nullopt. The view is valid until this
  // object is modified.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  // Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

  // Appends a field (repeats allowed).
  void add(std::string_view name, std::string_view value);
  // Replaces every field called `name` with one field.
  void set(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  std::size_t erase(std::string_view name);
  void clear() noexcept { fields_.clear(); }

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }
  // Sum of name and value lengths: what limits on header size count.
  std::size_t byte_size() const noexcept;

 private:
  std::vector<Field> fields_;
};

}  // namespace basalt::http
