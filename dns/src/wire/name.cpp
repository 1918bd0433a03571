#include "basalt/dns/wire/name.hpp"

#include <cstring>

namespace basalt::dns {

std::string_view to_string(WireError error) {
  switch (error) {
    case WireError::kOk:
      return "ok";
    case WireError::kTruncated:
      return "message truncated";
    case WireError::kBadLabelType:
      return "unsupported label type";
    case WireError::kBadPointer:
      return "compression pointer out of bounds or not backwards";
    case WireError::kNameTooLong:
      return "name longer than 255 octets";
    case WireError::kBadRdata:
      return "malformed RDATA";
    case WireError::kRdataLength:
      return "RDATA length mismatch";
    case WireError::kTrailingData:
      return "trailing data after the last record";
    case WireError::kBadOpt:
      return "malformed or misplaced OPT record";
    case WireError::kDuplicateOpt:
      return "more than one OPT record";
    case WireError::kBadTsig:
      return "TSIG record is not the last record";
  }
  return "unknown error";
}

WireError decode_name(std::span<const std::uint8_t> message, std::size_t offset, Name* out,
                      std::size_t* next) noexcept {
  const std::uint8_t* data = message.data();
  const std::size_t size = message.size();
  std::size_t pos = offset;
  std::size_t segment_start = offset;  // pointers must target before this
  std::size_t end = 0;                 // set at the first pointer
  bool jumped = false;
  std::size_t written = 0;
  std::uint8_t* dst = out ? out->buf_.data() : nullptr;
  for (;;) {
    if (pos >= size) return WireError::kTruncated;
    std::uint8_t len = data[pos];
    if (len == 0) {
      if (written + 1 > Name::kMaxWireSize) return WireError::kNameTooLong;
      if (dst) dst[written] = 0;
      ++written;
      if (!jumped) end = pos + 1;
      break;
    }
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= size) return WireError::kTruncated;
      std::size_t target = (static_cast<std::size_t>(len & 0x3F) << 8) | data[pos + 1];
      if (target >= segment_start) return WireError::kBadPointer;
      if (!jumped) {
        end = pos + 2;
        jumped = true;
      }
      pos = target;
      segment_start = target;
      continue;
    }
    if (len & 0xC0) return WireError::kBadLabelType;
    if (pos + 1 + len > size) return WireError::kTruncated;
    // Leave room for the root label.
    if (written + 1 + len + 1 > Name::kMaxWireSize) return WireError::kNameTooLong;
    if (dst) std::memcpy(dst + written, data + pos, 1 + len);
    written += 1 + len;
    pos += 1 + len;
  }
  if (out) out->size_ = static_cast<std::uint8_t>(written);
  if (next) *next = end;
  return WireError::kOk;
}

std::optional<Name> Name::from_wire(std::span<const std::uint8_t> wire) {
  if (wire.empty() || wire.size() > kMaxWireSize) return std::nullopt;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    std::uint8_t len = wire[pos];
    if (len == 0) {
      if (pos + 1 != wire.size()) return std::nullopt;
      Name n;
      std::memcpy(n.buf_.data(), wire.data(), wire.size());
      n.size_ = static_cast<std::uint8_t>(wire.size());
      return n;
    }
    if (len > kMaxLabelSize) return std::nullopt;
    pos += 1 + len;
  }
  return std::nullopt;
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Name> Name::from_text(std::string_view text, const Name* origin, std::string_view* error) {
  auto fail = [&](std::string_view why) -> std::optional<Name> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (text.empty()) return fail("empty name");
  Name n;
  if (text == ".") return n;
  std::size_t written = 0;
  std::size_t label_start = 0;  // index of the current label's length octet
  std::size_t label_len = 0;
  bool absolute = false;
  n.buf_[0] = 0;
  written = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    std::uint8_t octet;
    if (c == '.') {
      if (label_len == 0) return fail("empty label");
      n.buf_[label_start] = static_cast<std::uint8_t>(label_len);
      if (i + 1 == text.size()) {
        absolute = true;
        break;
      }
      if (written >= kMaxWireSize) return fail("name longer than 255 octets");
      label_start = written++;
      label_len = 0;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return fail("dangling backslash");
      if (is_digit(text[i + 1])) {
        if (i + 3 >= text.size() || !is_digit(text[i + 2]) || !is_digit(text[i + 3]))
          return fail("\\DDD escape needs three digits");
        int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return fail("\\DDD escape above 255");
        octet = static_cast<std::uint8_t>(v);
        i += 3;
      } else {
        octet = static_cast<std::uint8_t>(text[i + 1]);
        ++i;
      }
    } else {
      octet = static_cast<std::uint8_t>(c);
    }
    if (label_len == kMaxLabelSize) return fail("label longer than 63 octets");
    if (written >= kMaxWireSize) return fail("name longer than 255 octets");
    n.buf_[written++] = octet;
    ++label_len;
  }
  if (!absolute) {
    // Close the last label.
    n.buf_[label_start] = static_cast<std::uint8_t>(label_len);
    const Name& suffix = origin ? *origin : Name();
    if (written + suffix.size_ > kMaxWireSize) return fail("name longer than 255 octets");
    std::memcpy(n.buf_.data() + written, suffix.buf_.data(), suffix.size_);
    written += suffix.size_;
  } else {
    if (written + 1 > kMaxWireSize) return fail("name longer than 255 octets");
    n.buf_[written++] = 0;
  }
  n.size_ = static_cast<std::uint8_t>(written);
  return n;
}

void append_label_text(std::string& out, std::string_view label) {
  for (char ch : label) {
    auto c = static_cast<std::uint8_t>(ch);
    switch (c) {
      case '.':
      case '\\':
      case '"':
      case '(':
      case ')':
      case ';':
      case '@':
      case '$':
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
        break;
      default:
        if (c <= 0x20 || c >= 0x7F) {
          char buf[4] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                         static_cast<char>('0' + c % 10)};
          out.append(buf, 4);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

void Name::append_to(std::string& out) const {
  if (is_root()) {
    out.push_back('.');
    return;
  }
  std::size_t pos = 0;
  while (buf_[pos] != 0) {
    std::uint8_t len = buf_[pos];
    append_label_text(out, std::string_view(reinterpret_cast<const char*>(&buf_[pos + 1]), len));
    out.push_back('.');
    pos += 1 + len;
  }
}

std::string Name::to_string() const {
  std::string s;
  s.reserve(size_ + 8);
  append_to(s);
  return s;
}

std::size_t Name::label_count() const noexcept {
  std::size_t count = 0;
  for (std::size_t pos = 0; buf_[pos] != 0; pos += 1 + buf_[pos]) ++count;
  return count;
}

std::string_view Name::label(std::size_t index) const noexcept {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < index && buf_[pos] != 0; ++i) pos += 1 + buf_[pos];
  return {reinterpret_cast<const char*>(&buf_[pos + 1]), buf_[pos]};
}

Name Name::parent(std::size_t count) const noexcept {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count && buf_[pos] != 0; ++i) pos += 1 + buf_[pos];
  Name n;
  n.size_ = static_cast<std::uint8_t>(size_ - pos);
  std::memcpy(n.buf_.data(), buf_.data() + pos, n.size_);
  return n;
}

std::optional<Name> Name::prepend(std::string_view label) const {
  if (label.empty() || label.size() > kMaxLabelSize || size_ + 1 + label.size() > kMaxWireSize)
    return std::nullopt;
  Name n;
  n.buf_[0] = static_cast<std::uint8_t>(label.size());
  std::memcpy(n.buf_.data() + 1, label.data(), label.size());
  std::memcpy(n.buf_.data() + 1 + label.size(), buf_.data(), size_);
  n.size_ = static_cast<std::uint8_t>(size_ + 1 + label.size());
  return n;
}

std::optional<Name> Name::concat(const Name& suffix) const {
  std::size_t prefix = size_ - 1u;
  if (prefix + suffix.size_ > kMaxWireSize) return std::nullopt;
  Name n;
  std::memcpy(n.buf_.data(), buf_.data(), prefix);
  std::memcpy(n.buf_.data() + prefix, suffix.buf_.data(), suffix.size_);
  n.size_ = static_cast<std::uint8_t>(prefix + suffix.size_);
  return n;
}

void Name::lowercase() noexcept {
  for (std::size_t pos = 0; buf_[pos] != 0; pos += 1 + buf_[pos]) {
    for (std::size_t i = 1; i <= buf_[pos]; ++i) buf_[pos + i] = ascii_lower(buf_[pos + i]);
  }
}

Name Name::lowercased() const noexcept {
  Name n = *this;
  n.lowercase();
  return n;
}

bool operator==(const Name& a, const Name& b) noexcept {
  if (a.size_ != b.size_) return false;
  // Length octets are at most 63, below 'A', so folding every octet is safe.
  for (std::size_t i = 0; i < a.size_; ++i) {
    if (ascii_lower(a.buf_[i]) != ascii_lower(b.buf_[i])) return false;
  }
  return true;
}

bool Name::is_subdomain_of(const Name& ancestor) const noexcept {
  if (ancestor.size_ > size_) return false;
  // Walk labels until the remaining suffix has the ancestor's length.
  std::size_t pos = 0;
  while (size_ - pos > ancestor.size_) pos += 1 + buf_[pos];
  if (size_ - pos != ancestor.size_) return false;
  for (std::size_t i = 0; i < ancestor.size_; ++i) {
    if (ascii_lower(buf_[pos + i]) != ascii_lower(ancestor.buf_[i])) return false;
  }
  return true;
}

std::strong_ordering operator<=>(const Name& a, const Name& b) noexcept {
  // Label start offsets, collected so labels can be compared right to left.
  std::uint8_t la[128], lb[128];
  std::size_t na = 0, nb = 0;
  for (std::size_t p = 0; a.buf_[p] != 0; p += 1 + a.buf_[p]) la[na++] = static_cast<std::uint8_t>(p);
  for (std::size_t p = 0; b.buf_[p] != 0; p += 1 + b.buf_[p]) lb[nb++] = static_cast<std::uint8_t>(p);
  while (na > 0 && nb > 0) {
    const std::uint8_t* x = &a.buf_[la[--na]];
    const std::uint8_t* y = &b.buf_[lb[--nb]];
    std::size_t n = std::min(x[0], y[0]);
    for (std::size_t i = 1; i <= n; ++i) {
      std::uint8_t cx = ascii_lower(x[i]), cy = ascii_lower(y[i]);
      if (cx != cy) return cx <=> cy;
    }
    if (x[0] != y[0]) return x[0] <=> y[0];
  }
  return na <=> nb;
}

std::size_t Name::hash() const noexcept {
  // FNV-1a over the case-folded wire form.
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size_; ++i) {
    h ^= ascii_lower(buf_[i]);
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h);
}

}  // namespace basalt::dns
