#include "basalt/core/ip.hpp"

#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace basalt::core {
namespace {

constexpr std::string_view kNotAnAddress = "is not an IP address";

bool set_error(std::string* error, std::string_view why) noexcept {
  if (error) {
    try {
      error->assign(why);
    } catch (...) {
    }
  }
  return false;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decimal without sign or leading zeros, at most `max`.
std::optional<std::uint32_t> parse_decimal(std::string_view s, std::uint32_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

bool parse_v4(std::string_view s, std::uint8_t* out) {
  for (int part = 0; part < 4; ++part) {
    std::size_t dot = part < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    auto v = parse_decimal(s.substr(0, dot), 255);
    if (!v) return false;
    out[part] = static_cast<std::uint8_t>(*v);
    s.remove_prefix(part < 3 ? dot + 1 : dot);
  }
  return s.empty();
}

bool parse_v6(std::string_view s, std::uint8_t* out) {
  std::uint8_t words[16] = {};
  int n = 0;     // bytes written
  int gap = -1;  // byte index of "::"
  if (s.starts_with("::")) {
    gap = 0;
    s.remove_prefix(2);
    if (s.empty()) {
      std::memset(out, 0, 16);
      return true;
    }
  } else if (s.empty() || s[0] == ':') {
    return false;
  }
  for (;;) {
    // A trailing dotted quad fills the last 32 bits.
    std::size_t colon = s.find(':');
    std::string_view field = s.substr(0, colon);
    if (colon == std::string_view::npos && field.find('.') != std::string_view::npos) {
      if (n > 12) return false;
      if (!parse_v4(field, words + n)) return false;
      n += 4;
      break;
    }
    if (field.empty() || field.size() > 4 || n >= 16) return false;
    unsigned v = 0;
    for (char c : field) {
      int h = hex_value(c);
      if (h < 0) return false;
      v = v * 16 + static_cast<unsigned>(h);
    }
    words[n++] = static_cast<std::uint8_t>(v >> 8);
    words[n++] = static_cast<std::uint8_t>(v);
    if (colon == std::string_view::npos) break;
    s.remove_prefix(colon + 1);
    if (s.starts_with(":")) {
      if (gap >= 0) return false;  // second "::"
      gap = n;
      s.remove_prefix(1);
      if (s.empty()) break;
    } else if (s.empty()) {
      return false;  // trailing single ':'
    }
  }
  if (gap < 0) {
    if (n != 16) return false;
    std::memcpy(out, words, 16);
    return true;
  }
  if (n > 14) return false;  // "::" must stand for at least one group
  std::memset(out, 0, 16);
  std::memcpy(out, words, static_cast<std::size_t>(gap));
  std::memcpy(out + 16 - (n - gap), words + gap, static_cast<std::size_t>(n - gap));
  return true;
}

}  // namespace

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> bytes) noexcept {
  IpAddress a;
  std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
  return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) noexcept {
  return v4({static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
             static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order)});
}

IpAddress IpAddress::v6(std::array<std::uint8_t, 16> bytes, std::uint32_t scope_id) noexcept {
  IpAddress a;
  a.family_ = Family::kV6;
  a.bytes_ = bytes;
  a.scope_id_ = scope_id;
  return a;
}

IpAddress IpAddress::v6_loopback() noexcept {
  std::array<std::uint8_t, 16> b{};
  b[15] = 1;
  return v6(b);
}

std::optional<IpAddress> IpAddress::parse(std::string_view text, std::string* error) noexcept {
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    if (!parse_v4(text, a.bytes_.data())) return set_error(error, kNotAnAddress), std::nullopt;
    return a;
  }
  a.family_ = Family::kV6;
  std::string_view scope;
  if (auto pct = text.find('%'); pct != std::string_view::npos) {
    scope = text.substr(pct + 1);
    text = text.substr(0, pct);
    if (scope.empty()) return set_error(error, "has an empty IPv6 zone after '%'"), std::nullopt;
  }
  if (!parse_v6(text, a.bytes_.data())) return set_error(error, kNotAnAddress), std::nullopt;
  if (!scope.empty()) {
    if (auto id = parse_decimal(scope, 0xffffffffu)) {
      a.scope_id_ = *id;
    } else {
      char name[IF_NAMESIZE + 1] = {};
      if (scope.size() > IF_NAMESIZE) return set_error(error, "has an unknown IPv6 zone"), std::nullopt;
      std::memcpy(name, scope.data(), scope.size());
      a.scope_id_ = ::if_nametoindex(name);
      if (a.scope_id_ == 0) return set_error(error, "has an unknown IPv6 zone"), std::nullopt;
    }
  }
  return a;
}

std::uint32_t IpAddress::v4_value() const noexcept {
  return std::uint32_t{bytes_[0]} << 24 | std::uint32_t{bytes_[1]} << 16 | std::uint32_t{bytes_[2]} << 8 |
         bytes_[3];
}

bool IpAddress::is_v4_mapped() const noexcept {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return is_v6() && std::memcmp(bytes_.data(), kPrefix, 12) == 0;
}

IpAddress IpAddress::unmapped() const noexcept {
  if (!is_v4_mapped()) return *this;
  return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

IpAddress IpAddress::to_v6() const noexcept {
  if (is_v6()) return *this;
  std::array<std::uint8_t, 16> b{};
  b[10] = b[11] = 0xff;
  std::copy_n(bytes_.begin(), 4, b.begin() + 12);
  return v6(b);
}

bool IpAddress::is_unspecified() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

bool IpAddress::is_loopback() const noexcept {
  if (is_v4_mapped()) return unmapped().is_loopback();
  if (is_v4()) return bytes_[0] == 127;
  return *this == v6_loopback();
}

bool IpAddress::is_multicast() const noexcept {
  if (is_v4_mapped()) return unmapped().is_multicast();
  if (is_v4()) return (bytes_[0] & 0xf0) == 0xe0;
  return bytes_[0] == 0xff;
}

bool IpAddress::is_link_local() const noexcept {
  if (is_v4_mapped()) return unmapped().is_link_local();
  if (is_v4()) return bytes_[0] == 169 && bytes_[1] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

std::string_view IpAddress::format(TextBuffer& out) const noexcept {
  char* buf = out.data();
  char* p = buf;
  auto put_v4 = [&](const std::uint8_t* b) {
    for (int i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      unsigned v = b[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
    }
  };
  if (is_v4()) {
    put_v4(bytes_.data());
    return {buf, static_cast<std::size_t>(p - buf)};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  auto put_group = [&](unsigned g) {
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = (g >> shift) & 0xf;
      if (d || started || shift == 0) {
        *p++ = kHex[d];
        started = true;
      }
    }
  };
  if (is_v4_mapped()) {
    std::memcpy(p, "::ffff:", 7);
    p += 7;
    put_v4(bytes_.data() + 12);
  } else {
    unsigned groups[8];
    for (int i = 0; i < 8; ++i) groups[i] = unsigned{bytes_[2 * i]} << 8 | bytes_[2 * i + 1];
    // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first on a tie.
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
      if (groups[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && groups[j] == 0) ++j;
      if (j - i > best_len) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        *p++ = ':';
        *p++ = ':';
        i += best_len - 1;
        continue;
      }
      if (i && i != best + best_len) *p++ = ':';
      put_group(groups[i]);
    }
  }
  return {buf, static_cast<std::size_t>(p - buf)};
}

std::string IpAddress::to_string() const {
  TextBuffer buf;
  std::string out(format(buf));
  if (scope_id_) out += "%" + std::to_string(scope_id_);
  return out;
}

// ---------------------------------------------------------------------------

Cidr::Cidr(IpAddress address, int prefix_length) noexcept {
  const int max = address.is_v4() ? 32 : 128;
  prefix_ = std::clamp(prefix_length, 0, max);
  std::array<std::uint8_t, 16> bytes{};
  auto src = address.bytes();
  std::copy(src.begin(), src.end(), bytes.begin());
  for (int i = 0; i < static_cast<int>(src.size()); ++i) {
    const int keep = std::clamp(prefix_ - 8 * i, 0, 8);
    bytes[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
  if (address.is_v4()) {
    address_ = IpAddress::v4({bytes[0], bytes[1], bytes[2], bytes[3]});
  } else {
    address_ = IpAddress::v6(bytes);
  }
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error, bool allow_host_bits) noexcept {
  std::string_view addr_text = text, len_text;
  const auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    len_text = text.substr(slash + 1);
  }
  auto addr = IpAddress::parse(addr_text, nullptr);
  if (!addr) return set_error(error, kNotAnAddress), std::nullopt;
  if (addr->scope_id() != 0)
    return set_error(error, "has an IPv6 zone, which a prefix cannot have"), std::nullopt;
  const std::uint32_t max = addr->is_v4() ? 32 : 128;
  std::uint32_t len = max;
  if (slash != std::string_view::npos) {
    auto v = parse_decimal(len_text, max);
    if (!v) {
      return set_error(error, addr->is_v4() ? "has no valid prefix length (0-32)"
                                            : "has no valid prefix length (0-128)"),
             std::nullopt;
    }
    len = *v;
  }
  Cidr c(*addr, static_cast<int>(len));
  if (!allow_host_bits && c.address_ != *addr) {
    try {
      if (error) *error = "has host bits set (did you mean " + c.to_string() + "?)";
    } catch (...) {
    }
    return std::nullopt;
  }
  return c;
}

bool Cidr::contains(const IpAddress& addr) const noexcept {
  IpAddress a = addr;
  if (address_.is_v4()) {
    a = addr.unmapped();
    if (!a.is_v4()) return false;
  } else {
    a = addr.to_v6();
  }
  auto net = address_.bytes();
  auto bytes = a.bytes();
  const int full = prefix_ / 8;
  if (std::memcmp(net.data(), bytes.data(), static_cast<std::size_t>(full)) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
  return (bytes[full] & mask) == net[full];
}

std::string Cidr::to_string() const {
  return address_.to_string() + "/" + std::to_string(prefix_);
}

// ---------------------------------------------------------------------------

std::optional<Endpoint> Endpoint::parse(std::string_view text, std::string* error,
                                        EndpointParseOptions options) noexcept {
  std::string_view host, port_text;
  bool has_port = false;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return set_error(error, kNotAnAddress), std::nullopt;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (host.find(':') == std::string_view::npos) return set_error(error, kNotAnAddress), std::nullopt;
    if (!rest.empty()) {
      if (rest[0] != ':') return set_error(error, kNotAnAddress), std::nullopt;
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    const auto first = text.find(':');
    const auto last = text.rfind(':');
    if (first != std::string_view::npos && first == last) {
      host = text.substr(0, first);
      port_text = text.substr(first + 1);
      has_port = true;
    } else {
      host = text;  // IPv4 without port, or a bare IPv6 address
    }
  }
  auto addr = IpAddress::parse(host, error);
  if (!addr) return std::nullopt;
  Endpoint ep{*addr, 0};
  if (!has_port) {
    if (!options.default_port) {
      if (addr->is_v6() && text[0] != '[') {
        return set_error(error, "has no port (write IPv6 with a port as [address]:port)"), std::nullopt;
      }
      return set_error(error, "has no port"), std::nullopt;
    }
    ep.port = *options.default_port;
    return ep;
  }
  auto port = parse_decimal(port_text, 65535);
  if (!port || (*port == 0 && !options.allow_port_zero)) {
    return set_error(error,
                     options.allow_port_zero ? "has no valid port (0-65535)" : "has no valid port (1-65535)"),
           std::nullopt;
  }
  ep.port = static_cast<std::uint16_t>(*port);
  return ep;
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  if (!sa || len < static_cast<socklen_t>(sizeof(sa_family_t))) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    std::array<std::uint8_t, 4> b;
    std::memcpy(b.data(), &in.sin_addr, 4);
    return Endpoint{IpAddress::v4(b), ntohs(in.sin_port)};
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), &in6.sin6_addr, 16);
    return Endpoint{IpAddress::v6(b, in6.sin6_scope_id), ntohs(in6.sin6_port)};
  }
  return std::nullopt;
}

socklen_t Endpoint::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (address.is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, address.bytes().data(), 4);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  in6.sin6_scope_id = address.scope_id();
  std::memcpy(&in6.sin6_addr, address.bytes().data(), 16);
  std::memcpy(&out, &in6, sizeof in6);
  return sizeof in6;
}

std::string Endpoint::to_string() const {
  if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
  return "[" + address.to_string() + "]:" + std::to_string(port);
}

}  // namespace basalt::core

std::size_t std::hash<basalt::core::IpAddress>::operator()(const basalt::core::IpAddress& a) const noexcept {
  // FNV-1a over family, bytes and scope.
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  mix(static_cast<std::uint8_t>(a.family()));
  for (auto b : a.bytes()) mix(b);
  for (int i = 0; i < 4; ++i) mix(static_cast<std::uint8_t>(a.scope_id() >> (8 * i)));
  return static_cast<std::size_t>(h);
}
