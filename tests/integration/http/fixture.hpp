// Shared pieces of the HTTP integration tests: an in-process server on a
// Runtime, TLS material written to a temp dir for curl, curl runs, and a raw
// HTTP/2 frame client over TLS for the abuse tests.
#pragma once

#include "basalt/core/runtime.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/http/client.hpp"
#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace basalt::http::testing {

// A certificate for "localhost" (plus `extra` as first name, so tests can
// tell two certificates apart), written to <dir>/<name>.pem and -key.pem.
struct TestCert {
  core::PemCertificate pem;
  std::string cert_file;
};
TestCert make_cert(const basalt::testing::TempDir& dir, const std::string& name);

class TestServer {
 public:
  // TLS when `cert` is given (ALPN h2, http/1.1). Every route of `router`,
  // buffered and streaming, is served.
  TestServer(Router router, Limits limits = {}, const TestCert* cert = nullptr, std::size_t workers = 2);
  TestServer(StreamHandler handler, Limits limits = {}, const TestCert* cert = nullptr,
             std::size_t workers = 2);
  ~TestServer();
  std::uint16_t port() const { return port_; }
  Server& server() { return *server_; }
  core::TlsServerContext* tls() { return tls_ ? &*tls_ : nullptr; }
  core::Runtime& runtime() { return runtime_; }
  std::string url(const std::string& path) const;  // https://localhost:<port>/path or http://127.0.0.1:<port>

 private:
  core::Runtime runtime_;
  std::optional<core::TlsServerContext> tls_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

// Runs `body(client)` as a coroutine on a fresh io_context until it finishes.
// Build requests in named variables: g++ 12 miscompiles a braced aggregate
// temporary inside a co_await expression.
template <class F>
void with_client(ClientOptions options, F body) {
  boost::asio::io_context io;
  Client client(io, std::move(options));
  bool finished = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        co_await body(client);
        finished = true;
        client.close();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(std::chrono::seconds(60));
  EXPECT_TRUE(finished);
}

struct CurlResult {
  int exit_code = -1;
  int status = 0;
  std::string http_version;  // "1.1", "2"
  std::string body;
  std::string stderr_text;
  int num_connects = 0;
};
// curl with -sS, writing "-w" info after the body. `args` go before the URL;
// TLS runs use --cacert and --resolve localhost:<port>:127.0.0.1.
CurlResult curl(std::vector<std::string> args, const std::string& url);

// A blocking cleartext TCP client that sends exact bytes (HTTP/1.1 framing
// attacks) and reads what the server answers until it closes.
class RawTcp {
 public:
  explicit RawTcp(std::uint16_t port);
  ~RawTcp();
  void send(std::string_view bytes);
  // Everything received until the server closed the connection, or nullopt
  // when it is still open after `timeout` (what arrived is in `received()`).
  std::optional<std::string> read_until_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::string& received() const { return in_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_{io_};
  std::string in_;
};

// A blocking TLS client that speaks raw HTTP/2 frames (or raw bytes).
class RawH2 {
 public:
  struct Frame {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    std::uint32_t stream = 0;
    std::string payload;
  };
  static constexpr std::uint8_t kData = 0, kHeaders = 1, kRstStream = 3, kSettings = 4, kPing = 6,
                                kGoaway = 7, kContinuation = 9;
  static constexpr std::uint8_t kEndStream = 1, kEndHeaders = 4, kAck = 1;

  // Connects to 127.0.0.1:port, handshakes (ALPN h2 when `tls`), sends the
  // preface and an empty SETTINGS.
  RawH2(std::uint16_t port, bool tls = true);
  ~RawH2();

  void send(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload);
  void send_raw(std::string_view bytes);
  // HPACK block for GET/POST https://localhost/<path> using only static-table entries.
  static std::string request_block(const std::string& method, const std::string& path);
  // The next frame, nullopt on EOF/error/timeout.
  std::optional<Frame> read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until a GOAWAY (returns its error code) or the connection ends (nullopt).
  std::optional<std::uint32_t> wait_goaway(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the server closed the connection (EOF) within the timeout, frames discarded.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  bool fill(std::size_t n, std::chrono::milliseconds timeout);
  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_client};
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  std::optional<boost::asio::ip::tcp::socket> plain_;
  std::string in_;
};

}  // namespace basalt::http::testing
