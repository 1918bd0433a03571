// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the
// header a proxy in front writes as the first bytes of a connection to say
// who the client is, and the header basalt writes to its backends.
//
// Reading: collect the connection's first bytes and call
// parse_proxy_header() on all of them after each read; it answers kNeedMore
// until the header is complete, then kDone with the header's size (bytes
// after it are the client's own data: a ClientHello, a request) or
// kInvalid with the reason. The header may arrive one byte per segment.
//
//   auto r = parse_proxy_header(bytes);
//   if (r.status == ProxyHeaderStatus::kDone) { use r.header; drop r.size bytes; }
//
// Version 1 is the text line "PROXY TCP4|TCP6|UNKNOWN ...\r\n", at most 107
// bytes with the CRLF. Version 2 is the 16-byte binary header (signature
// "\r\n\r\n\0\r\nQUIT\n", version/command, family/protocol, length), the
// addresses and TLVs. What is accepted:
//   - v1 TCP4/TCP6 with addresses of that family and decimal ports 0-65535,
//     single spaces, CRLF; UNKNOWN with anything up to the CRLF;
//   - v2 version 2, command LOCAL or PROXY, the families and protocols the
//     spec names (UNSPEC, TCP/UDP over IPv4/IPv6, UNIX stream/dgram), an
//     address block at least as long as the family's, and TLVs that fill
//     the rest exactly; at most kMaxV2Length bytes after the 16-byte header
//     (a longer one is kInvalid as soon as the length is known).
//   - TLVs kept: ALPN, AUTHORITY, SSL (with its sub-TLVs); CRC32C is
//     checked when present; NOOP, UNIQUE_ID, NETNS and unknown types are
//     skipped.
// LOCAL, UNKNOWN, UNSPEC and UNIX carry no address basalt uses:
// `source`/`destination` stay empty and the connection's own addresses
// stand (the spec's rule).
//
// Writing: write_proxy_header() formats a header for a backend: v1 or v2
// (with ALPN, AUTHORITY and SSL TLVs), TCP4 when both addresses are IPv4
// (IPv4-mapped IPv6 counts as IPv4), else TCP6 with IPv4 addresses mapped.
// Without addresses it writes "PROXY UNKNOWN\r\n" / a v2 LOCAL header.
//
// Pure functions over bytes; never throw (except std::bad_alloc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"

namespace basalt::proxy {

// A TLV of version 2: type and value.
struct ProxyTlv {
  std::uint8_t type = 0;
  std::string value;
  friend bool operator==(const ProxyTlv&, const ProxyTlv&) = default;
};

// PP2_TYPE_SSL: how the client reached the proxy in front, when over TLS.
struct ProxySsl {
  static constexpr std::uint8_t kClientSsl = 0x01;       // PP2_CLIENT_SSL
  static constexpr std::uint8_t kSubtypeVersion = 0x21;  // PP2_SUBTYPE_SSL_VERSION ("TLSv1.3")
  static constexpr std::uint8_t kSubtypeCn = 0x22;       // PP2_SUBTYPE_SSL_CN
  static constexpr std::uint8_t kSubtypeCipher = 0x23;   // PP2_SUBTYPE_SSL_CIPHER
  std::uint8_t client = 0;                               // PP2_CLIENT_* bits
  std::uint32_t verify = 0;                              // 0: a client certificate was presented and verified
  std::vector<ProxyTlv> sub;                             // as sent, in order
  // The sub-TLV of `type`'s value, "" when absent.
  std::string_view get(std::uint8_t type) const noexcept;
  friend bool operator==(const ProxySsl&, const ProxySsl&) = default;
};

struct ProxyHeader {
  int version = 0;  // 1 or 2
  // The client and the address it connected to, when the header carries
  // them (v1 TCP4/TCP6, v2 PROXY over IPv4/IPv6).
  std::optional<core::Endpoint> source;
  std::optional<core::Endpoint> destination;
  std::string alpn;       // PP2_TYPE_ALPN: the protocol the client chose
  std::string authority;  // PP2_TYPE_AUTHORITY: the host name the client asked for (SNI)
  std::optional<ProxySsl> ssl;
  friend bool operator==(const ProxyHeader&, const ProxyHeader&) = default;
};

enum class ProxyHeaderStatus { kNeedMore, kDone, kInvalid };

struct ProxyHeaderParse {
  ProxyHeaderStatus status = ProxyHeaderStatus::kNeedMore;
  std::size_t size = 0;  // kDone: the header's bytes
  ProxyHeader header;    // kDone
  std::string error;     // kInvalid: why ("v1 address is not IPv4", ...)
};

inline constexpr std::size_t kMaxV1HeaderBytes = 107;
// The length field of a v2 header accepted at most: addresses (216 for
// UNIX) and TLVs; HAProxy's own SSL TLVs stay well under 1 KiB.
inline constexpr std::size_t kMaxV2Length = 4096;
inline constexpr std::size_t kV2HeaderBytes = 16;
// The most bytes a complete header takes.
inline constexpr std::size_t kMaxProxyHeaderBytes = kV2HeaderBytes + kMaxV2Length;

// Parses a header at the start of `bytes` (everything received so far).
// Bytes that cannot start a header are kInvalid at once.
ProxyHeaderParse parse_proxy_header(std::span<const std::uint8_t> bytes);

// Whether `bytes` (the start of a connection) begin with a PROXY header
// signature ("PROXY " or the v2 signature): kDone yes, kInvalid no,
// kNeedMore when they are a proper prefix of one.
ProxyHeaderStatus detect_proxy_header(std::span<const std::uint8_t> bytes) noexcept;

// A header for a backend; `version` 1 or 2. v1 writes the addresses only.
std::string write_proxy_header(int version, const ProxyHeader& header);

// CRC-32C (Castagnoli), as the CRC32C TLV carries it.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) noexcept;

}  // namespace basalt::proxy
