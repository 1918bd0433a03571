#include "l4/proxy_header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace basalt::proxy {
namespace {

using Status = ProxyHeaderStatus;

std::span<const std::uint8_t> span_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

ProxyHeaderParse parse(std::string_view s) {
  return parse_proxy_header(span_of(s));
}

core::Endpoint ep(const char* text) {
  return *core::Endpoint::parse(text);
}

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string be16(std::size_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

// A v2 header: command byte, family byte, then `body` (addresses and TLVs).
std::string v2(std::uint8_t command, std::uint8_t family, const std::string& body) {
  return kSig + static_cast<char>(command) + static_cast<char>(family) + be16(body.size()) + body;
}

std::string tlv(std::uint8_t type, const std::string& value) {
  return static_cast<char>(type) + be16(value.size()) + value;
}

const std::string kV4Addresses("\x7f\x00\x00\x02\x7f\x00\x00\x01\x9c\x40\x01\xbb",
                               12);  // 127.0.0.2:40000 -> 127.0.0.1:443

TEST(ProxyHeader, V1Tcp4WithDataAfterIt) {
  auto r = parse("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n");
  ASSERT_EQ(r.status, Status::kDone) << r.error;
  EXPECT_EQ(r.size, 45u);
  EXPECT_EQ(r.header.version, 1);
  EXPECT_EQ(r.header.source, ep("192.0.2.7:56324"));
  EXPECT_EQ(r.header.destination, ep("198.51.100.1:443"));
}

TEST(ProxyHeader, V1Tcp6AndUnknown) {
  auto r = parse("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
  ASSERT_EQ(r.status, Status::kDone) << r.error;
  EXPECT_EQ(r.header.source, ep("[2001:db8::1]:1"));
  EXPECT_EQ(r.header.destination, ep("[::1]:65535"));

  for (std::string_view unknown :
       {"PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:"
        "ffff:ffff 65535 65535\r\n"}) {
    auto u = parse(unknown);
    ASSERT_EQ(u.status, Status::kDone) << unknown;
    EXPECT_EQ(u.size, unknown.size());
    EXPECT_FALSE(u.header.source);
  }
}

TEST(ProxyHeader, V1NeedsMoreUntilTheCrlf) {
  const std::string line = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n";
  for (std::size_t n = 0; n < line.size(); ++n) {
    EXPECT_EQ(parse(std::string_view(line).substr(0, n)).status, Status::kNeedMore) << n;
  }
  EXPECT_EQ(parse(line).status, Status::kDone);
}

TEST(ProxyHeader, V1Refusals) {
  for (std::string_view bad : {
           "PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",        // a field missing
           "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443 1\r\n",  // one too many
           "PROXY TCP4 2001:db8::1 198.51.100.1 56324 443\r\n",  // family
           "PROXY TCP6 192.0.2.7 198.51.100.1 56324 443\r\n",    // family
           "PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n",    // port
           "PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n",       // port
           "PROXY TCP4  192.0.2.7 198.51.100.1 1 443\r\n",       // two spaces
           "PROXY UDP4 192.0.2.7 198.51.100.1 1 443\r\n",        // protocol
           "PROXY TCP4 192.0.2.7 198.51.100.1 1 443\n",          // LF alone
           "PROXY TCP4 192.0.2.7 198.51.100.1 1 443\rx",         // CR alone
           "PROXY TCP6 fe80::1%1 ::1 1 443\r\n",                 // a scope
           "GET / HTTP/1.1\r\n",                                 // not a header
           "\x16\x03\x01",                                       // a ClientHello
       }) {
    EXPECT_EQ(parse(bad).status, Status::kInvalid) << bad;
  }
  // No CRLF within 107 bytes: refused at 107 bytes, not later.
  std::string long_line = "PROXY UNKNOWN " + std::string(92, 'x');
  EXPECT_EQ(parse(long_line).status, Status::kNeedMore);
  EXPECT_EQ(parse(long_line + "x").status, Status::kInvalid);
  EXPECT_EQ(parse(long_line + "\r").status, Status::kInvalid);  // its LF would be the 108th byte
  EXPECT_EQ(parse("PROXY UNKNOWN " + std::string(91, 'x') + "\r\n").status, Status::kDone);
}

TEST(ProxyHeader, V2Tcp4WithTlvs) {
  std::string ssl_value = std::string("\x01\x00\x00\x00\x00", 5) + tlv(ProxySsl::kSubtypeVersion, "TLSv1.3") +
                          tlv(ProxySsl::kSubtypeCipher, "TLS_AES_128_GCM_SHA256");
  std::string body = kV4Addresses + tlv(0x01, "h2") + tlv(0x02, "www.example.test") + tlv(0x04, "pad") +
                     tlv(0x20, ssl_value) + tlv(0xe0, "custom");
  std::string header = v2(0x21, 0x11, body);
  auto r = parse(header + "\x16\x03\x01");
  ASSERT_EQ(r.status, Status::kDone) << r.error;
  EXPECT_EQ(r.size, header.size());
  EXPECT_EQ(r.header.version, 2);
  EXPECT_EQ(r.header.source, ep("127.0.0.2:40000"));
  EXPECT_EQ(r.header.destination, ep("127.0.0.1:443"));
  EXPECT_EQ(r.header.alpn, "h2");
  EXPECT_EQ(r.header.authority, "www.example.test");
  ASSERT_TRUE(r.header.ssl);
  EXPECT_EQ(r.header.ssl->client, ProxySsl::kClientSsl);
  EXPECT_EQ(r.header.ssl->verify, 0u);
  EXPECT_EQ(r.header.ssl->get(ProxySsl::kSubtypeVersion), "TLSv1.3");
  EXPECT_EQ(r.header.ssl->get(ProxySsl::kSubtypeCipher), "TLS_AES_128_GCM_SHA256");
  for (std::size_t n = 0; n < header.size(); ++n) {
    EXPECT_EQ(parse(std::string_view(header).substr(0, n)).status, Status::kNeedMore) << n;
  }
}

TEST(ProxyHeader, V2Tcp6LocalAndUnspec) {
  std::string addresses(36, '\0');
  addresses[15] = 1;  // ::1
  addresses[16] = 0x20;
  addresses[17] = 0x01;
  addresses[18] = 0x0d;
  addresses[19] = static_cast<char>(0xb8);  // 2001:db8::
  addresses[32] = 0x00;
  addresses[33] = 0x50;  // 80
  addresses[34] = 0x01;
  addresses[35] = static_cast<char>(0xbb);  // 443
  auto r = parse(v2(0x21, 0x21, addresses));
  ASSERT_EQ(r.status, Status::kDone) << r.error;
  EXPECT_EQ(r.header.source, ep("[::1]:80"));
  EXPECT_EQ(r.header.destination, ep("[2001:db8::]:443"));

  // LOCAL keeps the connection's addresses whatever the block says.
  auto local = parse(v2(0x20, 0x11, kV4Addresses));
  ASSERT_EQ(local.status, Status::kDone) << local.error;
  EXPECT_FALSE(local.header.source);
  auto empty_local = parse(v2(0x20, 0x00, ""));
  ASSERT_EQ(empty_local.status, Status::kDone);
  EXPECT_EQ(empty_local.size, 16u);
  auto unspec = parse(v2(0x21, 0x00, "anything"));
  ASSERT_EQ(unspec.status, Status::kDone);
  EXPECT_FALSE(unspec.header.source);
  auto unix_socket = parse(v2(0x21, 0x31, std::string(216, 'a')));
  ASSERT_EQ(unix_socket.status, Status::kDone);
  EXPECT_FALSE(unix_socket.header.source);
}

TEST(ProxyHeader, V2Refusals) {
  EXPECT_EQ(parse(v2(0x11, 0x11, kV4Addresses)).status, Status::kInvalid);  // version 1
  EXPECT_EQ(parse(v2(0x22, 0x11, kV4Addresses)).status, Status::kInvalid);  // command 2
  EXPECT_EQ(parse(v2(0x21, 0x10, kV4Addresses)).status, Status::kInvalid);  // INET, UNSPEC protocol
  EXPECT_EQ(parse(v2(0x21, 0x41, kV4Addresses)).status, Status::kInvalid);  // family 4
  EXPECT_EQ(parse(v2(0x21, 0x21, kV4Addresses)).status, Status::kInvalid);  // shorter than IPv6
  EXPECT_EQ(parse(v2(0x21, 0x11, kV4Addresses + "\x01\x00")).status, Status::kInvalid);  // TLV cut
  EXPECT_EQ(parse(v2(0x21, 0x11, kV4Addresses + tlv(1, "a") + tlv(1, "b"))).status, Status::kInvalid);
  EXPECT_EQ(parse(v2(0x21, 0x11, kV4Addresses + tlv(0x20, "abc"))).status, Status::kInvalid);  // SSL < 5
  EXPECT_EQ(parse(v2(0x21, 0x11, kV4Addresses + tlv(0x20, std::string(5, '\0') + "\x21"))).status,
            Status::kInvalid);  // SSL sub-TLV cut
  // The length is bounded as soon as it is known.
  std::string huge = kSig + "\x21\x11" + be16(kMaxV2Length + 1);
  EXPECT_EQ(parse(huge).status, Status::kInvalid);
  EXPECT_EQ(parse(kSig + "\x21\x11" + be16(kMaxV2Length)).status, Status::kNeedMore);
  // A wrong signature byte is refused where it is.
  std::string bad_sig = kSig;
  bad_sig[7] = 'q';
  EXPECT_EQ(parse(bad_sig.substr(0, 8)).status, Status::kInvalid);
  EXPECT_EQ(parse(kSig.substr(0, 8)).status, Status::kNeedMore);
}

TEST(ProxyHeader, V2Crc32c) {
  // RFC 3720's check value.
  EXPECT_EQ(crc32c(span_of("123456789")), 0xe3069283u);
  std::string body = kV4Addresses + tlv(0x03, std::string(4, '\0')) + tlv(0x02, "a.test");
  std::string header = v2(0x21, 0x11, body);
  const std::uint32_t crc = crc32c(span_of(header));
  const std::size_t at = 16 + 12 + 3;
  for (int i = 0; i < 4; ++i) header[at + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  auto r = parse(header);
  ASSERT_EQ(r.status, Status::kDone) << r.error;
  EXPECT_EQ(r.header.authority, "a.test");
  header.back() = 'X';
  EXPECT_EQ(parse(header).status, Status::kInvalid);
}

TEST(ProxyHeader, DetectsSignatures) {
  EXPECT_EQ(detect_proxy_header(span_of("")), Status::kNeedMore);
  EXPECT_EQ(detect_proxy_header(span_of("PR")), Status::kNeedMore);
  EXPECT_EQ(detect_proxy_header(span_of("PROXY ")), Status::kDone);
  EXPECT_EQ(detect_proxy_header(span_of("PRI * HTTP/2.0")), Status::kInvalid);
  EXPECT_EQ(detect_proxy_header(span_of("POST /")), Status::kInvalid);
  EXPECT_EQ(detect_proxy_header(span_of("\r\n\r\n")), Status::kNeedMore);
  EXPECT_EQ(detect_proxy_header(span_of(kSig)), Status::kDone);
  EXPECT_EQ(detect_proxy_header(span_of("\x16\x03\x01")), Status::kInvalid);
}

TEST(ProxyHeader, WritesWhatItReads) {
  ProxyHeader h;
  h.source = ep("127.0.0.2:40000");
  h.destination = ep("127.0.0.1:443");
  EXPECT_EQ(write_proxy_header(1, h), "PROXY TCP4 127.0.0.2 127.0.0.1 40000 443\r\n");
  EXPECT_EQ(write_proxy_header(2, h), v2(0x21, 0x11, kV4Addresses));

  h.alpn = "http/1.1";
  h.authority = "www.example.test";
  h.ssl =
      ProxySsl{.client = ProxySsl::kClientSsl, .verify = 1, .sub = {{ProxySsl::kSubtypeVersion, "TLSv1.2"}}};
  auto back = parse(write_proxy_header(2, h));
  ASSERT_EQ(back.status, Status::kDone) << back.error;
  h.version = 2;
  EXPECT_EQ(back.header, h);

  // Mixed families go as IPv6, IPv4 mapped; a mapped pair as IPv4.
  ProxyHeader mixed;
  mixed.source = ep("192.0.2.1:1");
  mixed.destination = ep("[2001:db8::1]:2");
  EXPECT_EQ(write_proxy_header(1, mixed), "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::1 1 2\r\n");
  ProxyHeader mapped;
  mapped.source = ep("[::ffff:192.0.2.1]:1");
  mapped.destination = ep("[::ffff:192.0.2.2]:2");
  EXPECT_EQ(write_proxy_header(1, mapped), "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n");

  // No addresses: UNKNOWN / LOCAL.
  EXPECT_EQ(write_proxy_header(1, {}), "PROXY UNKNOWN\r\n");
  EXPECT_EQ(write_proxy_header(2, {}), v2(0x20, 0x00, ""));
}

}  // namespace
}  // namespace basalt::proxy
