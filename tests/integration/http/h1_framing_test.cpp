// HTTP/1.1 request framing attacks (request smuggling, RFC 9112 §6.3 and
// §3.2) sent as exact bytes over raw TCP: a request whose framing or Host is
// ambiguous gets exactly one answer (400, or 501 for a transfer coding we do
// not implement) with "Connection: close", then EOF; a second request hidden
// after it never reaches a handler.
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <charconv>

namespace basalt::http::testing {
namespace {

namespace asio = boost::asio;

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

// Splits what the server sent into Content-Length framed responses; bytes
// that do not form a whole response are left in `rest`.
std::vector<Reply> split_responses(std::string_view wire, std::string& rest) {
  std::vector<Reply> replies;
  for (;;) {
    auto end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos || !wire.starts_with("HTTP/1.1 ")) break;
    Reply r;
    r.head.assign(wire.substr(0, end + 4));
    std::from_chars(r.head.data() + 9, r.head.data() + 12, r.status);
    std::size_t length = 0;
    if (auto cl = r.head.find("\r\nContent-Length: "); cl != std::string::npos) {
      std::from_chars(r.head.data() + cl + 18, r.head.data() + r.head.size(), length);
    }
    if (wire.size() < end + 4 + length) break;
    r.body.assign(wire.substr(end + 4, length));
    wire.remove_prefix(end + 4 + length);
    replies.push_back(std::move(r));
  }
  rest.assign(wire);
  return replies;
}

class H1FramingTest : public ::testing::Test {
 protected:
  H1FramingTest() : server_(make_router()) {}

  Router make_router() {
    Router r;
    r.add("/", [](Request req) -> asio::awaitable<Response> { co_return Response(200, "root " + req.body); });
    r.add("/smuggled", [this](Request) -> asio::awaitable<Response> {
      ++smuggled_;
      co_return Response(200, "smuggled");
    });
    return r;
  }

  // Sends `bytes` on a new connection; the answers the server gave before
  // it closed the connection (a test failure if it did not close).
  std::vector<Reply> exchange(const std::string& bytes) {
    RawTcp c(server_.port());
    c.send(bytes);
    auto all = c.read_until_closed();
    EXPECT_TRUE(all.has_value()) << "the server kept the connection open after: " << c.received();
    std::string rest;
    auto replies = split_responses(all.value_or(c.received()), rest);
    EXPECT_EQ(rest, "") << "not a whole response";
    return replies;
  }

  void expect_one_refusal(const std::string& bytes, int status) {
    SCOPED_TRACE(bytes);
    auto replies = exchange(bytes);
    ASSERT_EQ(replies.size(), 1u) << "answered " << replies.size() << " times";
    EXPECT_EQ(replies[0].status, status) << replies[0].head;
    EXPECT_NE(replies[0].head.find("\r\nConnection: close\r\n"), std::string::npos) << replies[0].head;
    EXPECT_EQ(smuggled_.load(), 0);
  }

  std::atomic<int> smuggled_{0};
  TestServer server_;
};

// What hides behind the first request in every attack below.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

// The finding: Beast read a request whose final transfer coding is not
// chunked as having no body, answered it, and then answered its body as a
// second request on the same connection.
TEST_F(H1FramingTest, TransferEncodingGzipIsOne400ThenClose) {
  expect_one_refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" + kSmuggled, 400);
}

TEST_F(H1FramingTest, TransferEncodingChunkedIdentityIsOne400ThenClose) {
  expect_one_refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + kSmuggled,
                     400);
}

TEST_F(H1FramingTest, TransferEncodingXchunkedWithContentLengthZeroIsOne400ThenClose) {
  expect_one_refusal(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: 0\r\n\r\n" + kSmuggled,
      400);
}

// RFC 9112 §6.1 lets a server either reject Transfer-Encoding with
// Content-Length or drop the Content-Length, and then close either way; we
// reject (as HAProxy and Envoy do by default).
TEST_F(H1FramingTest, TransferEncodingWithContentLengthIsOne400ThenClose) {
  expect_one_refusal(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" +
          kSmuggled,
      400);
  expect_one_refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(5 + kSmuggled.size()) +
                         "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled,
                     400);
}

TEST_F(H1FramingTest, TwoHostFieldsAreOne400ThenClose) {
  expect_one_refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + kSmuggled, 400);
}

TEST_F(H1FramingTest, MissingHostIsOne400ThenClose) {
  expect_one_refusal("GET / HTTP/1.1\r\n\r\n" + kSmuggled, 400);
}

TEST_F(H1FramingTest, ConflictingContentLengthsAreOne400ThenClose) {
  expect_one_refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: " +
                         std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled,
                     400);
}

TEST_F(H1FramingTest, TransferEncodingInHttp10IsOne400ThenClose) {
  expect_one_refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled, 400);
}

// "gzip, chunked" is framed, but the body would reach the handler still
// gzip-coded: 501 (RFC 9112 §6.1), and we close as for the others.
TEST_F(H1FramingTest, UnimplementedTransferCodingIsOne501ThenClose) {
  expect_one_refusal(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + kSmuggled, 501);
}

// The control: a well-framed chunked request followed by a pipelined one
// gets both answers, so the tests above see a second answer when there is one.
TEST_F(H1FramingTest, ChunkedRequestThenPipelinedRequestAreBothAnswered) {
  auto replies = exchange(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].status, 200);
  EXPECT_EQ(replies[0].body, "root ab");
  EXPECT_EQ(replies[1].body, "smuggled");
  EXPECT_EQ(smuggled_.load(), 1);
}

}  // namespace
}  // namespace basalt::http::testing
