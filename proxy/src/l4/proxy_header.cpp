#include "l4/proxy_header.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace basalt::proxy {

namespace {

constexpr std::array<std::uint8_t, 12> kV2Signature = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                       0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
constexpr std::string_view kV1Signature = "PROXY ";

constexpr std::uint8_t kTypeAlpn = 0x01;
constexpr std::uint8_t kTypeAuthority = 0x02;
constexpr std::uint8_t kTypeCrc32c = 0x03;
constexpr std::uint8_t kTypeSsl = 0x20;

constexpr std::uint8_t kCommandLocal = 0x0;
constexpr std::uint8_t kCommandProxy = 0x1;

ProxyHeaderParse invalid(std::string error) {
  ProxyHeaderParse r;
  r.status = ProxyHeaderStatus::kInvalid;
  r.error = std::move(error);
  return r;
}

std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// ---- version 1 ------------------------------------------------------------------

std::optional<std::uint16_t> v1_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

ProxyHeaderParse parse_v1(std::span<const std::uint8_t> bytes) {
  const std::size_t limit = std::min(bytes.size(), kMaxV1HeaderBytes);
  std::size_t end = 0;  // the '\r' of the CRLF
  for (;; ++end) {
    if (end == limit) {
      if (bytes.size() >= kMaxV1HeaderBytes) return invalid("v1 header has no CRLF within 107 bytes");
      return {};
    }
    const std::uint8_t c = bytes[end];
    if (c == '\r') {
      if (end + 2 > kMaxV1HeaderBytes) return invalid("v1 header has no CRLF within 107 bytes");
      if (end + 1 == bytes.size()) return {};
      if (bytes[end + 1] != '\n') return invalid("v1 header has a CR without LF");
      break;
    }
    if (c == '\n') return invalid("v1 header has a LF without CR");
    if (c < 0x20 || c > 0x7e) return invalid("v1 header holds a byte that is not printable ASCII");
  }
  const std::string_view line(reinterpret_cast<const char*>(bytes.data()), end);
  ProxyHeaderParse r;
  r.status = ProxyHeaderStatus::kDone;
  r.size = end + 2;
  r.header.version = 1;
  std::array<std::string_view, 6> fields{};
  std::size_t count = 0;
  std::string_view rest = line;
  while (count < fields.size()) {
    const auto space = rest.find(' ');
    fields[count++] = rest.substr(0, space);
    if (space == std::string_view::npos) {
      rest = {};
      break;
    }
    rest.remove_prefix(space + 1);
    if (count == 2 && fields[1] == "UNKNOWN") return r;  // anything may follow
  }
  if (fields[0] != "PROXY") return invalid("v1 header does not start with \"PROXY \"");
  if (fields[1] == "UNKNOWN") return r;
  const bool v4 = fields[1] == "TCP4";
  if (!v4 && fields[1] != "TCP6") return invalid("v1 protocol is not TCP4, TCP6 or UNKNOWN");
  if (count != 6 || !rest.empty()) return invalid("v1 header is not \"PROXY TCP4|TCP6 src dst sport dport\"");
  auto src = core::IpAddress::parse(fields[2]);
  auto dst = core::IpAddress::parse(fields[3]);
  if (!src || !dst || src->is_v4() != v4 || dst->is_v4() != v4 || src->scope_id() || dst->scope_id() ||
      fields[2].find('%') != std::string_view::npos || fields[3].find('%') != std::string_view::npos) {
    return invalid(fmt::format("v1 addresses are not {} addresses", v4 ? "IPv4" : "IPv6"));
  }
  auto sport = v1_port(fields[4]);
  auto dport = v1_port(fields[5]);
  if (!sport || !dport) return invalid("v1 ports are not decimal numbers 0-65535");
  r.header.source = core::Endpoint{*src, *sport};
  r.header.destination = core::Endpoint{*dst, *dport};
  return r;
}

// ---- version 2 ------------------------------------------------------------------

// The TLVs in [p, end): each type, 2-byte length, value, filling it exactly.
bool parse_tlvs(const std::uint8_t* p, const std::uint8_t* end, std::vector<ProxyTlv>& out) {
  while (p < end) {
    if (end - p < 3) return false;
    const std::size_t len = be16(p + 1);
    if (static_cast<std::size_t>(end - p - 3) < len) return false;
    out.push_back({p[0], std::string(reinterpret_cast<const char*>(p + 3), len)});
    p += 3 + len;
  }
  return true;
}

ProxyHeaderParse parse_v2(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kV2HeaderBytes) return {};
  const std::uint8_t version = bytes[12] >> 4;
  const std::uint8_t command = bytes[12] & 0x0f;
  if (version != 2) return invalid(fmt::format("v2 header has version {}", version));
  if (command != kCommandLocal && command != kCommandProxy)
    return invalid(fmt::format("v2 header has command {} (not LOCAL or PROXY)", command));
  const std::uint8_t family = bytes[13];
  std::size_t address_bytes = 0;
  switch (family) {
    case 0x00:  // UNSPEC
      break;
    case 0x11:  // TCP over IPv4
    case 0x12:  // UDP over IPv4
      address_bytes = 12;
      break;
    case 0x21:  // TCP over IPv6
    case 0x22:  // UDP over IPv6
      address_bytes = 36;
      break;
    case 0x31:  // UNIX stream
    case 0x32:  // UNIX datagram
      address_bytes = 216;
      break;
    default:
      return invalid(fmt::format("v2 header has family/protocol 0x{:02x}", family));
  }
  const std::size_t length = be16(bytes.data() + 14);
  if (length > kMaxV2Length)
    return invalid(fmt::format("v2 header is {} bytes long, over the {} accepted", length, kMaxV2Length));
  if (bytes.size() < kV2HeaderBytes + length) return {};

  ProxyHeaderParse r;
  r.status = ProxyHeaderStatus::kDone;
  r.size = kV2HeaderBytes + length;
  r.header.version = 2;
  // LOCAL (health checks of the proxy in front) and UNSPEC: the real
  // connection's addresses stand and the block is ignored.
  if (command == kCommandLocal || family == 0x00) return r;
  if (length < address_bytes) return invalid("v2 header is shorter than its addresses");
  const std::uint8_t* a = bytes.data() + kV2HeaderBytes;
  if (address_bytes == 12) {
    r.header.source = core::Endpoint{core::IpAddress::v4(be32(a)), be16(a + 8)};
    r.header.destination = core::Endpoint{core::IpAddress::v4(be32(a + 4)), be16(a + 10)};
  } else if (address_bytes == 36) {
    std::array<std::uint8_t, 16> src{}, dst{};
    std::memcpy(src.data(), a, 16);
    std::memcpy(dst.data(), a + 16, 16);
    r.header.source = core::Endpoint{core::IpAddress::v6(src), be16(a + 32)};
    r.header.destination = core::Endpoint{core::IpAddress::v6(dst), be16(a + 34)};
  }
  std::vector<ProxyTlv> tlvs;
  if (!parse_tlvs(a + address_bytes, bytes.data() + r.size, tlvs)) return invalid("v2 TLVs are truncated");
  bool seen_alpn = false, seen_authority = false, seen_crc = false;
  for (auto& tlv : tlvs) {
    switch (tlv.type) {
      case kTypeAlpn:
        if (std::exchange(seen_alpn, true)) return invalid("v2 header has two ALPN TLVs");
        r.header.alpn = std::move(tlv.value);
        break;
      case kTypeAuthority:
        if (std::exchange(seen_authority, true)) return invalid("v2 header has two AUTHORITY TLVs");
        r.header.authority = std::move(tlv.value);
        break;
      case kTypeCrc32c:  // checked below, once the TLVs are known to be well formed
        if (std::exchange(seen_crc, true)) return invalid("v2 header has two CRC32C TLVs");
        if (tlv.value.size() != 4) return invalid("v2 CRC32C TLV is not 4 bytes");
        break;
      case kTypeSsl: {
        if (r.header.ssl) return invalid("v2 header has two SSL TLVs");
        if (tlv.value.size() < 5) return invalid("v2 SSL TLV is shorter than 5 bytes");
        const auto* v = reinterpret_cast<const std::uint8_t*>(tlv.value.data());
        ProxySsl ssl;
        ssl.client = v[0];
        ssl.verify = be32(v + 1);
        if (!parse_tlvs(v + 5, v + tlv.value.size(), ssl.sub))
          return invalid("v2 SSL sub-TLVs are truncated");
        r.header.ssl = std::move(ssl);
        break;
      }
      default:  // NOOP, UNIQUE_ID, NETNS, custom: not used
        break;
    }
  }
  if (seen_crc) {
    // The checksum of the whole header with the TLV's value zeroed.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(r.size));
    std::size_t pos = kV2HeaderBytes + address_bytes;
    std::uint32_t expected = 0;
    while (pos + 3 <= copy.size()) {
      const std::size_t len = be16(copy.data() + pos + 1);
      if (copy[pos] == kTypeCrc32c) {
        expected = be32(copy.data() + pos + 3);
        std::fill_n(copy.begin() + static_cast<std::ptrdiff_t>(pos + 3), 4, std::uint8_t{0});
        break;
      }
      pos += 3 + len;
    }
    if (crc32c(copy) != expected) return invalid("v2 CRC32C does not match the header");
  }
  return r;
}

void put16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_tlv(std::string& out, std::uint8_t type, std::string_view value) {
  out.push_back(static_cast<char>(type));
  put16(out, value.size());
  out.append(value);
}

}  // namespace

std::string_view ProxySsl::get(std::uint8_t type) const noexcept {
  for (const auto& tlv : sub) {
    if (tlv.type == type) return tlv.value;
  }
  return {};
}

ProxyHeaderStatus detect_proxy_header(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.empty()) return ProxyHeaderStatus::kNeedMore;
  auto against = [&](const std::uint8_t* sig, std::size_t sig_len) {
    const std::size_t n = std::min(bytes.size(), sig_len);
    if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), sig))
      return ProxyHeaderStatus::kInvalid;
    return n == sig_len ? ProxyHeaderStatus::kDone : ProxyHeaderStatus::kNeedMore;
  };
  if (bytes[0] == 'P')
    return against(reinterpret_cast<const std::uint8_t*>(kV1Signature.data()), kV1Signature.size());
  if (bytes[0] == kV2Signature[0]) return against(kV2Signature.data(), kV2Signature.size());
  return ProxyHeaderStatus::kInvalid;
}

ProxyHeaderParse parse_proxy_header(std::span<const std::uint8_t> bytes) {
  switch (detect_proxy_header(bytes)) {
    case ProxyHeaderStatus::kNeedMore:
      return {};
    case ProxyHeaderStatus::kInvalid:
      return invalid("the connection does not start with a PROXY protocol header");
    case ProxyHeaderStatus::kDone:
      break;
  }
  return bytes[0] == 'P' ? parse_v1(bytes) : parse_v2(bytes);
}

std::string write_proxy_header(int version, const ProxyHeader& header) {
  std::optional<core::IpAddress> src, dst;
  if (header.source && header.destination) {
    src = header.source->address.unmapped();
    dst = header.destination->address.unmapped();
    if (!src->is_v4() || !dst->is_v4()) {
      src = src->to_v6();
      dst = dst->to_v6();
    }
  }
  if (version == 1) {
    if (!src) return "PROXY UNKNOWN\r\n";
    core::IpAddress::TextBuffer a, b;
    return fmt::format("PROXY {} {} {} {} {}\r\n", src->is_v4() ? "TCP4" : "TCP6", src->format(a),
                       dst->format(b), header.source->port, header.destination->port);
  }
  std::string out(reinterpret_cast<const char*>(kV2Signature.data()), kV2Signature.size());
  if (!src) {
    out.push_back(static_cast<char>(0x20 | kCommandLocal));
    out.push_back(0x00);
    put16(out, 0);
    return out;
  }
  out.push_back(static_cast<char>(0x20 | kCommandProxy));
  out.push_back(static_cast<char>(src->is_v4() ? 0x11 : 0x21));
  std::string body;
  const auto s = src->bytes();
  const auto d = dst->bytes();
  body.append(reinterpret_cast<const char*>(s.data()), s.size());
  body.append(reinterpret_cast<const char*>(d.data()), d.size());
  put16(body, header.source->port);
  put16(body, header.destination->port);
  const std::size_t addresses = body.size();
  if (!header.alpn.empty() && header.alpn.size() <= 0xffff) put_tlv(body, kTypeAlpn, header.alpn);
  if (!header.authority.empty() && header.authority.size() <= 0xffff)
    put_tlv(body, kTypeAuthority, header.authority);
  if (header.ssl) {
    std::string value;
    value.push_back(static_cast<char>(header.ssl->client));
    for (int shift = 24; shift >= 0; shift -= 8)
      value.push_back(static_cast<char>((header.ssl->verify >> shift) & 0xff));
    for (const auto& sub : header.ssl->sub) {
      if (sub.value.size() <= 0xffff) put_tlv(value, sub.type, sub.value);
    }
    if (value.size() <= 0xffff) put_tlv(body, kTypeSsl, value);
  }
  if (body.size() > 0xffff) body.resize(addresses);  // TLVs a peer gave beyond any sane size
  put16(out, body.size());
  out += body;
  return out;
}

std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc) noexcept {
  static constexpr auto kTable = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::uint8_t b : bytes) crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace basalt::proxy
