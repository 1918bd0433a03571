// Domain names: an owning `Name`, decoding from (compressed) wire format, and
// the presentation (zone-file) text form with `\.` and `\DDD` escapes.
//
// A `Name` keeps the exact octets it was built from, so a server can echo a
// question's mixed case (DNS 0x20) byte for byte; equality, ordering and
// hashing are ASCII case-insensitive as RFC 4343 requires. Ordering is the
// DNSSEC canonical order (RFC 4034 §6.1) and `lowercased()` gives the
// canonical form used for signing. Storage is inline (no heap allocation), so
// building, copying and comparing names never allocates; a Name is a plain
// value type and is safe to share between threads when not being modified.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "basalt/dns/wire/wire_error.hpp"

namespace basalt::dns {

class Name;
WireError decode_name(std::span<const std::uint8_t> message, std::size_t offset, Name* out,
                      std::size_t* next) noexcept;

class Name {
 public:
  static constexpr std::size_t kMaxWireSize = 255;
  static constexpr std::size_t kMaxLabelSize = 63;

  // The root name ".".
  Name() noexcept : size_(1) { buf_[0] = 0; }

  // Builds a name from its uncompressed wire form (length-prefixed labels
  // ending with the root label). Returns nullopt if the bytes are not exactly
  // one valid name.
  static std::optional<Name> from_wire(std::span<const std::uint8_t> wire);

  // Parses presentation format: labels separated by '.', `\c` for a literal
  // character and `\DDD` for a decimal octet. A name ending in an unescaped
  // '.' is absolute; otherwise `origin` is appended (the root if none is
  // given, so "example.com" and "example.com." are the same then). "@" is
  // not special here (the zone parser handles it). On failure returns nullopt
  // and, if `error` is given, sets it to a static description.
  static std::optional<Name> from_text(std::string_view text, const Name* origin = nullptr,
                                       std::string_view* error = nullptr);

  // Presentation format, always absolute (trailing dot), with special
  // characters escaped so that from_text(to_string()) gives the same octets.
  std::string to_string() const;
  // Appends the presentation form to `out` (no allocation beyond `out` growing).
  void append_to(std::string& out) const;

  // The uncompressed wire form, including the terminating root label.
  std::span<const std::uint8_t> wire() const noexcept { return {buf_.data(), size_}; }
  std::size_t wire_size() const noexcept { return size_; }
  bool is_root() const noexcept { return size_ == 1; }
  // Number of labels, not counting the root label ("www.example.com." has 3).
  std::size_t label_count() const noexcept;
  // The raw octets of label `index` (0 = leftmost). Precondition: index < label_count().
  std::string_view label(std::size_t index) const noexcept;
  bool is_wildcard() const noexcept { return size_ >= 2 && buf_[0] == 1 && buf_[1] == '*'; }

  // The name with the leftmost `count` labels removed (root stays root).
  Name parent(std::size_t count = 1) const noexcept;
  // `label` + "." + this name; nullopt if the label is empty, longer than 63
  // octets or the result would exceed 255 octets.
  std::optional<Name> prepend(std::string_view label) const;
  // This (relative part, root label dropped) followed by `suffix`; nullopt if too long.
  std::optional<Name> concat(const Name& suffix) const;

  // Canonical form for DNSSEC: ASCII letters lowercased.
  Name lowercased() const noexcept;
  void lowercase() noexcept;

  // True if this name equals `ancestor` or is below it (case-insensitive).
  bool is_subdomain_of(const Name& ancestor) const noexcept;

  // Case-insensitive equality; `identical` also compares case.
  friend bool operator==(const Name& a, const Name& b) noexcept;
  bool identical(const Name& other) const noexcept {
    return size_ == other.size_ && std::equal(buf_.begin(), buf_.begin() + size_, other.buf_.begin());
  }
  // RFC 4034 §6.1 canonical order (labels compared right to left, case-folded).
  friend std::strong_ordering operator<=>(const Name& a, const Name& b) noexcept;
  // Case-insensitive hash, consistent with operator==.
  std::size_t hash() const noexcept;

 private:
  friend WireError decode_name(std::span<const std::uint8_t>, std::size_t, Name*, std::size_t*) noexcept;
  std::array<std::uint8_t, kMaxWireSize> buf_;
  std::uint8_t size_;
};

// ASCII case folding table used for every case-insensitive comparison.
inline constexpr std::uint8_t ascii_lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

// Decodes the possibly compressed name at `offset` in `message`.
//
// Compression pointers are followed only backwards: every pointer must target
// an offset before the start of the label sequence that contains it, so loops
// are impossible and work is linear in the message size. Rejects reads past
// the end, label types 0x40/0x80, and names over 255 octets. On success stores
// the name in `*out` (if not null) and the offset just after the name's
// in-place bytes (a pointer counts 2) in `*next`.
WireError decode_name(std::span<const std::uint8_t> message, std::size_t offset, Name* out,
                      std::size_t* next) noexcept;

// Appends the presentation form of one label's octets (escaped) to `out`.
void append_label_text(std::string& out, std::string_view label);

}  // namespace basalt::dns

template <>
struct std::hash<basalt::dns::Name> {
  std::size_t operator()(const basalt::dns::Name& n) const noexcept { return n.hash(); }
};
