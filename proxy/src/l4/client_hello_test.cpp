#include "l4/client_hello.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::proxy {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Result = ClientHelloReader::Result;

// A private-use extension type (RFC 8446 §11: first byte 0xff), not 0xff01.
constexpr unsigned kPadExtension = 0xff5a;

struct HelloOptions {
  std::string server_name;
  std::string alpn;  // wire format: length-prefixed names
  std::size_t pad = 0;
  int max_version = 0;
};

std::string alpn_wire(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto name : names) {
    out.push_back(static_cast<char>(name.size()));
    out.append(name);
  }
  return out;
}

int add_pad(SSL*, unsigned, unsigned, const unsigned char** out, std::size_t* outlen, X509*, std::size_t,
            int*, void* arg) {
  auto* pad = static_cast<Bytes*>(arg);
  *out = pad->data();
  *outlen = pad->size();
  return 1;
}
void free_pad(SSL*, unsigned, unsigned, const unsigned char*, void*) {}

// The first flight a real OpenSSL client writes: its ClientHello record(s).
Bytes openssl_hello(const HelloOptions& options) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  Bytes pad(options.pad, 0xab);
  if (options.pad > 0) {
    EXPECT_EQ(1, SSL_CTX_add_custom_ext(ctx.get(), kPadExtension, SSL_EXT_CLIENT_HELLO, add_pad, free_pad,
                                        &pad, nullptr, nullptr));
  }
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_connect_state(ssl.get());
  if (!options.server_name.empty()) SSL_set_tlsext_host_name(ssl.get(), options.server_name.c_str());
  if (!options.alpn.empty()) {
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(options.alpn.data()),
                        static_cast<unsigned>(options.alpn.size()));
  }
  EXPECT_EQ(-1, SSL_do_handshake(ssl.get()));
  EXPECT_EQ(SSL_ERROR_WANT_READ, SSL_get_error(ssl.get(), -1));
  Bytes out(static_cast<std::size_t>(BIO_ctrl_pending(wbio)));
  EXPECT_EQ(static_cast<int>(out.size()), BIO_read(wbio, out.data(), static_cast<int>(out.size())));
  return out;
}

// The handshake bytes carried by a sequence of handshake records.
Bytes handshake_of(const Bytes& records) {
  Bytes out;
  std::size_t pos = 0;
  while (pos + 5 <= records.size()) {
    std::size_t len = static_cast<std::size_t>(records[pos + 3] << 8 | records[pos + 4]);
    out.insert(out.end(), records.begin() + static_cast<std::ptrdiff_t>(pos + 5),
               records.begin() + static_cast<std::ptrdiff_t>(pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}

// Handshake bytes in records of at most `size` bytes.
Bytes frame(const Bytes& handshake, std::size_t size, std::uint8_t minor = 1) {
  Bytes out;
  for (std::size_t pos = 0; pos < handshake.size(); pos += size) {
    std::size_t n = std::min(size, handshake.size() - pos);
    out.insert(out.end(), {22, 3, minor, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    out.insert(out.end(), handshake.begin() + static_cast<std::ptrdiff_t>(pos),
               handshake.begin() + static_cast<std::ptrdiff_t>(pos + n));
  }
  return out;
}

Bytes reframe(const Bytes& records, std::size_t size) {
  return frame(handshake_of(records), size);
}

Result feed_whole(ClientHelloReader& reader, const Bytes& bytes) {
  return reader.feed(bytes);
}

// One byte per call; every result before the last byte must be kNeedMore.
Result feed_bytewise(ClientHelloReader& reader, const Bytes& bytes, std::size_t* decided_at = nullptr) {
  Result result = Result::kNeedMore;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    result = reader.feed(std::span(bytes).subspan(i, 1));
    if (result != Result::kNeedMore) {
      if (decided_at) *decided_at = i + 1;
      return result;
    }
  }
  return result;
}

// ---- hand-built hellos, for the malformed cases -------------------------------

void put16(Bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

Bytes extension(std::uint16_t type, const Bytes& data) {
  Bytes out;
  put16(out, type);
  put16(out, data.size());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes sni_ext(std::string_view name) {
  Bytes entry{0};
  put16(entry, name.size());
  entry.insert(entry.end(), name.begin(), name.end());
  Bytes data;
  put16(data, entry.size());
  data.insert(data.end(), entry.begin(), entry.end());
  return extension(0, data);
}

struct Body {
  Bytes session_id;
  Bytes ciphers{0x13, 0x01};
  Bytes compression{0};
  std::vector<Bytes> extensions;
  bool extensions_block = true;
  Bytes trailing;
};

// A handshake message (header included).
Bytes hello_message(const Body& body) {
  Bytes b{3, 3};
  b.insert(b.end(), 32, 0x42);
  b.push_back(static_cast<std::uint8_t>(body.session_id.size()));
  b.insert(b.end(), body.session_id.begin(), body.session_id.end());
  put16(b, body.ciphers.size());
  b.insert(b.end(), body.ciphers.begin(), body.ciphers.end());
  b.push_back(static_cast<std::uint8_t>(body.compression.size()));
  b.insert(b.end(), body.compression.begin(), body.compression.end());
  if (body.extensions_block) {
    Bytes exts;
    for (const auto& e : body.extensions) exts.insert(exts.end(), e.begin(), e.end());
    put16(b, exts.size());
    b.insert(b.end(), exts.begin(), exts.end());
  }
  b.insert(b.end(), body.trailing.begin(), body.trailing.end());
  Bytes message{1, static_cast<std::uint8_t>(b.size() >> 16), static_cast<std::uint8_t>(b.size() >> 8),
                static_cast<std::uint8_t>(b.size())};
  message.insert(message.end(), b.begin(), b.end());
  return message;
}

Result parse_body(const Body& body) {
  ClientHelloReader reader;
  return reader.feed(frame(hello_message(body), 16384));
}

// ---- real hellos ---------------------------------------------------------------

TEST(ClientHelloReader, ReadsSniAlpnAndVersionsFromARealHello) {
  Bytes hello = openssl_hello({.server_name = "WWW.Example.Test", .alpn = alpn_wire({"h2", "http/1.1"})});
  ClientHelloReader reader;
  ASSERT_EQ(Result::kDone, feed_whole(reader, hello));
  EXPECT_EQ("www.example.test", reader.hello().server_name);
  EXPECT_EQ((std::vector<std::string>{"h2", "http/1.1"}), reader.hello().alpn);
  EXPECT_TRUE(reader.hello().offers_tls13);
  EXPECT_TRUE(reader.hello().offers_tls12);
  EXPECT_EQ(hello.size(), reader.consumed());
}

TEST(ClientHelloReader, SameHelloWhenFedOneByteAtATime) {
  Bytes hello = openssl_hello({.server_name = "a.example.test", .alpn = alpn_wire({"http/1.1"})});
  ClientHelloReader whole;
  ASSERT_EQ(Result::kDone, feed_whole(whole, hello));
  ClientHelloReader bytewise;
  std::size_t decided_at = 0;
  ASSERT_EQ(Result::kDone, feed_bytewise(bytewise, hello, &decided_at));
  EXPECT_EQ(hello.size(), decided_at);  // not before the last byte
  EXPECT_EQ(whole.hello(), bytewise.hello());
  EXPECT_EQ("a.example.test", bytewise.hello().server_name);
  EXPECT_EQ(hello.size(), bytewise.consumed());
}

TEST(ClientHelloReader, ReassemblesAHelloSplitOverManyRecords) {
  Bytes hello = openssl_hello({.server_name = "split.example.test", .alpn = alpn_wire({"h2"})});
  for (std::size_t size : {1u, 2u, 3u, 7u, 100u, 512u}) {
    SCOPED_TRACE(size);
    Bytes records = reframe(hello, size);
    ClientHelloReader reader;
    ASSERT_EQ(Result::kDone, feed_whole(reader, records));
    EXPECT_EQ("split.example.test", reader.hello().server_name);
    EXPECT_EQ(std::vector<std::string>{"h2"}, reader.hello().alpn);
    EXPECT_EQ(records.size(), reader.consumed());
    ClientHelloReader bytewise;
    ASSERT_EQ(Result::kDone, feed_bytewise(bytewise, records));
    EXPECT_EQ(reader.hello(), bytewise.hello());
  }
}

TEST(ClientHelloReader, ReadsALargePaddedHelloOverSeveralRecords) {
  for (std::size_t pad : {2048u, 10000u}) {
    SCOPED_TRACE(pad);
    Bytes hello = openssl_hello({.server_name = "big.example.test", .pad = pad});
    ASSERT_GT(hello.size(), pad);
    Bytes records = reframe(hello, 1000);
    ClientHelloReader reader;
    ASSERT_EQ(Result::kDone, feed_whole(reader, records));
    EXPECT_EQ("big.example.test", reader.hello().server_name);
    ClientHelloReader bytewise;
    ASSERT_EQ(Result::kDone, feed_bytewise(bytewise, records));
    EXPECT_EQ(reader.hello(), bytewise.hello());
  }
}

TEST(ClientHelloReader, ReadsAHelloOpenSslItselfSplitsOverTwoRecords) {
  // Above 16384 bytes OpenSSL fragments the hello into two records.
  Bytes hello = openssl_hello({.server_name = "huge.example.test", .pad = 20000});
  std::size_t first_len = static_cast<std::size_t>(hello[3] << 8 | hello[4]);
  ASSERT_LT(first_len + 5, hello.size());
  ClientHelloReader reader;
  ASSERT_EQ(Result::kDone, feed_whole(reader, hello));
  EXPECT_EQ("huge.example.test", reader.hello().server_name);
  EXPECT_EQ(hello.size(), reader.consumed());
}

TEST(ClientHelloReader, HelloWithoutSniHasNoServerName) {
  Bytes hello = openssl_hello({});
  ClientHelloReader reader;
  ASSERT_EQ(Result::kDone, feed_whole(reader, hello));
  EXPECT_EQ("", reader.hello().server_name);
  EXPECT_TRUE(reader.hello().alpn.empty());
}

TEST(ClientHelloReader, Tls12OnlyClientDoesNotOfferTls13) {
  Bytes hello = openssl_hello({.server_name = "old.example.test", .max_version = TLS1_2_VERSION});
  ClientHelloReader reader;
  ASSERT_EQ(Result::kDone, feed_whole(reader, hello));
  EXPECT_TRUE(reader.hello().offers_tls12);
  EXPECT_FALSE(reader.hello().offers_tls13);
  EXPECT_EQ("old.example.test", reader.hello().server_name);
}

TEST(ClientHelloReader, BytesAfterTheHelloAreNotConsumed) {
  Bytes hello = openssl_hello({.server_name = "x.example.test"});
  Bytes input = hello;
  const Bytes next{0x17, 3, 3, 0, 2, 0xaa, 0xbb};  // e.g. early data
  input.insert(input.end(), next.begin(), next.end());
  ClientHelloReader reader;
  ASSERT_EQ(Result::kDone, reader.feed(input));
  EXPECT_EQ(hello.size(), reader.consumed());
  // Done is final: more bytes change nothing.
  EXPECT_EQ(Result::kDone, reader.feed(next));
  EXPECT_EQ(hello.size(), reader.consumed());
  EXPECT_EQ("x.example.test", reader.hello().server_name);
}

// ---- not TLS ---------------------------------------------------------------------

TEST(ClientHelloReader, HttpAndSshAreNotTlsAfterOneByte) {
  for (std::string_view text : {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n"}) {
    Bytes bytes(text.begin(), text.end());
    ClientHelloReader whole;
    EXPECT_EQ(Result::kNotTls, whole.feed(bytes));
    EXPECT_EQ(1u, whole.consumed());
    ClientHelloReader bytewise;
    std::size_t decided_at = 0;
    EXPECT_EQ(Result::kNotTls, feed_bytewise(bytewise, bytes, &decided_at));
    EXPECT_EQ(1u, decided_at);
  }
}

TEST(ClientHelloReader, HandshakeByteWithoutTlsVersionIsNotTls) {
  ClientHelloReader reader;
  std::size_t decided_at = 0;
  EXPECT_EQ(Result::kNotTls, feed_bytewise(reader, Bytes{0x16, 0x02, 0x00, 0x00, 0x10}, &decided_at));
  EXPECT_EQ(2u, decided_at);
  EXPECT_EQ(Result::kNotTls, reader.feed(Bytes{0x16}));  // final
}

// ---- malformed and too large -------------------------------------------------------

TEST(ClientHelloReader, RecordLayerViolationsAreMalformed) {
  Bytes message = hello_message({.extensions = {sni_ext("ok.example.test")}});
  ASSERT_EQ(Result::kDone, parse_body({.extensions = {sni_ext("ok.example.test")}}));

  auto run = [](const Bytes& bytes) {
    ClientHelloReader reader;
    return reader.feed(bytes);
  };
  // Zero-length record.
  EXPECT_EQ(Result::kMalformed, run(Bytes{22, 3, 1, 0, 0}));
  // Record longer than 16384 + 256.
  EXPECT_EQ(Result::kMalformed, run(Bytes{22, 3, 1, 0x41, 0x01}));
  // Record version outside 0x0301-0x0303.
  EXPECT_EQ(Result::kMalformed, run(frame(message, 16384, 4)));
  EXPECT_EQ(Result::kMalformed, run(frame(message, 16384, 0)));
  // Not a ClientHello (ServerHello = 2).
  Bytes server_hello = message;
  server_hello[0] = 2;
  EXPECT_EQ(Result::kMalformed, run(frame(server_hello, 16384)));
  // An application-data or alert record before the hello is complete.
  for (std::uint8_t type : {0x17, 0x15}) {
    Bytes records = frame(message, 20);
    Bytes bad(records.begin(), records.begin() + 25);
    bad.insert(bad.end(), {type, 3, 3, 0, 2, 1, 0});
    bad.insert(bad.end(), records.begin() + 25, records.end());
    EXPECT_EQ(Result::kMalformed, run(bad)) << int(type);
  }
  // The record carries more than the hello.
  Bytes extra = message;
  extra.push_back(0);
  Bytes record{22, 3, 1, static_cast<std::uint8_t>(extra.size() >> 8),
               static_cast<std::uint8_t>(extra.size())};
  record.insert(record.end(), extra.begin(), extra.end());
  EXPECT_EQ(Result::kMalformed, run(record));
}

TEST(ClientHelloReader, TruncatedHelloNeedsMore) {
  Bytes records = frame(hello_message({.extensions = {sni_ext("t.example.test")}}), 30);
  records.pop_back();
  ClientHelloReader reader;
  EXPECT_EQ(Result::kNeedMore, reader.feed(records));
  EXPECT_EQ(records.size(), reader.consumed());
}

TEST(ClientHelloReader, BadHelloFieldsAreMalformed) {
  EXPECT_EQ(Result::kMalformed, parse_body({.session_id = Bytes(33, 1)}));
  EXPECT_EQ(Result::kMalformed, parse_body({.ciphers = {0x13, 0x01, 0x13}}));
  EXPECT_EQ(Result::kMalformed, parse_body({.ciphers = {}}));
  EXPECT_EQ(Result::kMalformed, parse_body({.compression = {}}));
  EXPECT_EQ(Result::kMalformed, parse_body({.extensions = {sni_ext("a.test")}, .trailing = {0}}));
  // An extension whose length runs past the block.
  Bytes bad = extension(0xff5a, {1, 2, 3});
  bad[3] = 9;
  EXPECT_EQ(Result::kMalformed, parse_body({.extensions = {bad}}));
  // Duplicate extension types (RFC 8446 §4.2).
  EXPECT_EQ(Result::kMalformed,
            parse_body({.extensions = {extension(0xff5a, {}), sni_ext("a.test"), extension(0xff5a, {})}}));
  // A hello without extensions is valid (TLS 1.2 and older).
  EXPECT_EQ(Result::kDone, parse_body({.extensions_block = false}));
}

TEST(ClientHelloReader, ImplausibleServerNamesAreMalformed) {
  for (std::string_view name :
       {std::string_view("exa mple.test"), std::string_view("a\0b.test", 8), std::string_view("a..test"),
        std::string_view(".a.test"), std::string_view("."), std::string_view("caf\xc3\xa9.test"),
        std::string_view("a/b")}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(Result::kMalformed, parse_body({.extensions = {sni_ext(name)}}));
  }
  EXPECT_EQ(Result::kMalformed, parse_body({.extensions = {sni_ext(std::string(254, 'a'))}}));
  // Length checks inside server_name: the list length disagrees with the extension.
  Bytes sni = sni_ext("a.test");
  sni[5] += 1;
  EXPECT_EQ(Result::kMalformed, parse_body({.extensions = {sni}}));
}

TEST(ClientHelloReader, ServerNameIsLowercasedWithoutTrailingDot) {
  ClientHelloReader reader;
  ASSERT_EQ(Result::kDone,
            reader.feed(frame(hello_message({.extensions = {sni_ext("Mail_1.EXAMPLE.test.")}}), 16384)));
  EXPECT_EQ("mail_1.example.test", reader.hello().server_name);
  EXPECT_FALSE(reader.hello().offers_tls13);
  EXPECT_TRUE(reader.hello().offers_tls12);  // legacy_version 0x0303, no supported_versions
}

TEST(ClientHelloReader, EmptyAlpnNamesAreMalformed) {
  Bytes data{0, 4, 2, 'h', '2', 0};  // "h2" then an empty name
  EXPECT_EQ(Result::kMalformed, parse_body({.extensions = {extension(16, data)}}));
  Bytes good{0, 3, 2, 'h', '2'};
  EXPECT_EQ(Result::kDone, parse_body({.extensions = {extension(16, good)}}));
}

TEST(ClientHelloReader, HelloLongerThanTheBoundIsTooLargeOnceItsLengthIsKnown) {
  std::size_t len = ClientHelloReader::kMaxHelloBytes + 1;
  Bytes start{22,
              3,
              1,
              0x40,
              0x00,
              1,
              static_cast<std::uint8_t>(len >> 16),
              static_cast<std::uint8_t>(len >> 8),
              static_cast<std::uint8_t>(len)};
  ClientHelloReader reader;
  std::size_t decided_at = 0;
  EXPECT_EQ(Result::kTooLarge, feed_bytewise(reader, start, &decided_at));
  EXPECT_EQ(start.size(), decided_at);
}

}  // namespace
}  // namespace basalt::proxy
