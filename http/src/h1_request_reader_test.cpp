#include "h1_request_reader.hpp"

#include <gtest/gtest.h>

namespace basalt::http {
namespace {

using S = RequestReader::Status;

TEST(RequestReader, ParsesPipelinedRequestsByteByByte) {
  RequestReader r(4096, 4096);
  std::string wire =
      "POST /x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc"
      "GET /y HTTP/1.0\r\n\r\n";
  std::size_t i = 0;
  S s = S::kNeedMore;
  while (s == S::kNeedMore && i < wire.size()) {
    r.append(wire.substr(i++, 1));
    s = r.parse();
  }
  ASSERT_EQ(s, S::kComplete);
  auto req = r.take();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/x");
  EXPECT_EQ(req.query_param("a").value_or(""), "1");
  EXPECT_EQ(req.authority, "h");
  EXPECT_EQ(req.headers.get("x-a").value_or(""), "b");
  EXPECT_EQ(req.body, "abc");
  EXPECT_TRUE(r.keep_alive());
  r.reset();
  r.append(wire.substr(i));
  ASSERT_EQ(r.parse(), S::kComplete);
  auto second = r.take();
  EXPECT_EQ(second.version, Version::http1_0);
  EXPECT_FALSE(r.keep_alive());
}

TEST(RequestReader, ChunkedBody) {
  RequestReader r(4096, 4096);
  r.append("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_EQ(r.parse(), S::kComplete);
  EXPECT_EQ(r.take().body, "abcde");
}

TEST(RequestReader, LimitsMapToStatusCodes) {
  RequestReader big_header(64, 1024);
  big_header.append("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'a') + "\r\n\r\n");
  EXPECT_EQ(big_header.parse(), S::kHeaderTooLarge);
  EXPECT_EQ(RequestReader::status_code(S::kHeaderTooLarge), 431);

  RequestReader big_body(1024, 10);
  big_body.append("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(big_body.parse(), S::kBodyTooLarge);

  RequestReader bad(1024, 1024);
  bad.append("GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
  EXPECT_EQ(bad.parse(), S::kBadRequest);

  RequestReader smuggle(1024, 1024);
  smuggle.append("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
  EXPECT_EQ(smuggle.parse(), S::kBadRequest);
}

TEST(RequestReader, ExpectContinueSeenBeforeBody) {
  RequestReader r(1024, 1024);
  r.append("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(r.parse(), S::kNeedMore);
  EXPECT_TRUE(r.expects_continue());
  r.append("ok");
  EXPECT_EQ(r.parse(), S::kComplete);
  EXPECT_FALSE(r.expects_continue());
}

}  // namespace
}  // namespace basalt::http

namespace basalt::http {
namespace {

using S = RequestReader::Status;

// Found by fuzzing: Beast 1.81 asserted on a final chunk split as "0\r\n" +
// "\r\n" (here with a stray LF, which must be a clean 400 or need-more).
TEST(RequestReader, ChunkedBodySplitAtTheFinalChunkDoesNotAbort) {
  for (std::string tail : {std::string("\r\n"), std::string("\n"), std::string("\n\r\n")}) {
    RequestReader r(1024, 1024);
    r.append("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r");
    EXPECT_EQ(r.parse(), S::kNeedMore);
    r.append("\n");
    EXPECT_EQ(r.parse(), S::kNeedMore);
    r.append(tail);
    auto s = r.parse();
    EXPECT_NE(s, S::kHeaderTooLarge);
  }
}

TEST(RequestReader, EndlessChunkExtensionIsRefused) {
  RequestReader r(1024, 1024);
  r.append("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
  S s = r.parse();
  for (int i = 0; i < 100 && s == S::kNeedMore; ++i) {
    r.append(std::string(1000, 'a'));
    s = r.parse();
  }
  EXPECT_EQ(s, S::kBadRequest);
}

}  // namespace
}  // namespace basalt::http

namespace basalt::http {
namespace {

using S = RequestReader::Status;

// A second request hidden in the first one's body (request smuggling).
constexpr std::string_view kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

S parse_all(std::string_view wire) {
  RequestReader r(4096, 4096);
  r.append(wire);
  return r.parse();
}

// RFC 9112 §6.3: a request whose final transfer coding is not chunked has
// no reliable length; Beast 1.81 read it as "no body" and parsed the body
// as the next request.
TEST(RequestReader, TransferEncodingWhoseFinalCodingIsNotChunkedIsRefused) {
  for (std::string te : {"gzip", "chunked, identity", "identity", "xchunked", "chunked;x=1",
                         "chunked chunked", "", "chunked, chunked"}) {
    std::string wire = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + te + "\r\n\r\n";
    wire += kSmuggled;
    EXPECT_EQ(parse_all(wire), S::kBadRequest) << te;
  }
  // The same across two field lines: the codings are applied in order.
  EXPECT_EQ(parse_all("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                      "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n"),
            S::kBadRequest);
}

TEST(RequestReader, TransferCodingsOtherThanChunkedAreNotImplemented) {
  for (std::string te : {"gzip, chunked", "identity,chunked"}) {
    std::string wire = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n";
    EXPECT_EQ(parse_all(wire), S::kNotImplemented) << te;
  }
  EXPECT_EQ(parse_all("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            S::kNotImplemented);
  EXPECT_EQ(RequestReader::status_code(S::kNotImplemented), 501);
}

TEST(RequestReader, TransferEncodingWithContentLengthIsRefused) {
  for (std::string fields : {"Transfer-Encoding: xchunked\r\nContent-Length: 0\r\n",
                             "Content-Length: 0\r\nTransfer-Encoding: xchunked\r\n",
                             "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                             "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                             "Transfer-Encoding: gzip\r\nContent-Length: 100000000\r\n"}) {
    std::string wire = "POST / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n0\r\n\r\n";
    wire += kSmuggled;
    EXPECT_EQ(parse_all(wire), S::kBadRequest) << fields;
  }
}

TEST(RequestReader, TransferEncodingInHttp10IsRefused) {
  EXPECT_EQ(parse_all("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
            S::kBadRequest);
}

TEST(RequestReader, ConflictingContentLengthsAreRefused) {
  EXPECT_EQ(parse_all("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nab"), S::kBadRequest);
  EXPECT_EQ(parse_all("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 1\r\n\r\nab"),
            S::kBadRequest);
  EXPECT_EQ(parse_all("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +2\r\n\r\nab"), S::kBadRequest);
  // RFC 9110 §8.6: the same value repeated is one length.
  RequestReader same(4096, 4096);
  same.append("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab");
  ASSERT_EQ(same.parse(), S::kComplete);
  EXPECT_EQ(same.take().body, "ab");
}

TEST(RequestReader, HostMustAppearOnceWithAValidValue) {
  EXPECT_EQ(parse_all("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), S::kBadRequest);
  EXPECT_EQ(parse_all("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), S::kBadRequest);
  EXPECT_EQ(parse_all("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), S::kBadRequest);
  EXPECT_EQ(parse_all("GET / HTTP/1.1\r\n\r\n"), S::kBadRequest);
  for (std::string host : {"a b", "a/b", "a@b", "a:x", "[::1", "a\"b"}) {
    EXPECT_EQ(parse_all("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"), S::kBadRequest) << host;
  }
  for (std::string host :
       {"example.com", "example.com:8443", "127.0.0.1:53", "[::1]:443", "xn--d1a.example", ""}) {
    RequestReader r(4096, 4096);
    r.append("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    ASSERT_EQ(r.parse(), S::kComplete) << host;
    EXPECT_EQ(r.take().authority, host);
  }
  // HTTP/1.0 has no Host requirement.
  EXPECT_EQ(parse_all("GET / HTTP/1.0\r\n\r\n"), S::kComplete);
}

TEST(RequestReader, ExpectContinueIsNotSeenForAMisframedRequest) {
  RequestReader r(4096, 4096);
  r.append(
      "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: gzip\r\n"
      "Content-Length: 2\r\n\r\n");
  EXPECT_EQ(r.parse(), S::kBadRequest);
  EXPECT_FALSE(r.expects_continue());
}

// After a framing error the byte stream cannot be resynchronised: the reader
// stays failed, whatever arrives after.
TEST(RequestReader, NothingIsParsedAfterARefusal) {
  RequestReader r(4096, 4096);
  r.append("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(r.parse(), S::kBadRequest);
  r.append(kSmuggled);
  EXPECT_EQ(r.parse(), S::kBadRequest);
  r.reset();
  r.append(kSmuggled);
  EXPECT_EQ(r.parse(), S::kBadRequest);
}

TEST(RequestReader, ChunkedTransferEncodingIsStillAccepted) {
  for (std::string te : {"chunked", "Chunked", " chunked ", "CHUNKED"}) {
    RequestReader r(4096, 4096);
    r.append("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + te + "\r\n\r\n2\r\nab\r\n0\r\n\r\n" +
             std::string(kSmuggled));
    ASSERT_EQ(r.parse(), S::kComplete) << te;
    EXPECT_EQ(r.take().body, "ab");
    EXPECT_TRUE(r.keep_alive());
    r.reset();
    ASSERT_EQ(r.parse(), S::kComplete);  // the next request on the connection
    EXPECT_EQ(r.take().path, "/smuggled");
  }
}

TEST(RequestReader, WhitespaceBeforeTheColonIsRefused) {
  EXPECT_EQ(parse_all("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
            S::kBadRequest);
}

}  // namespace
}  // namespace basalt::http
