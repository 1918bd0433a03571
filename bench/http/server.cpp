// The server side of bench/http/run.sh: an http::Server on one Runtime worker
// with fixed bodies (the same bytes run.sh gives nginx) and the two routes of
// the memory test.
//
//   GET  /1k                 1024 bytes
//   GET  /100k               102400 bytes
//   GET  /download?bytes=N   N bytes
//   POST /upload (or PUT)    reads the body, answers its size in bytes
//
//   basalt-bench-http --listen 127.0.0.1:8080 --tls-listen 127.0.0.1:8443
//                     --cert cert.pem --key key.pem
//
// Cleartext serves HTTP/1.1 and HTTP/2 with prior knowledge; TLS 1.3 serves
// HTTP/2 or HTTP/1.1 as ALPN picks. Prints "listening on http://..." lines
// with the bound ports on stdout; SIGINT/SIGTERM stop it.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>

#include "basalt/core/log.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"

namespace {

namespace asio = boost::asio;
namespace core = basalt::core;
namespace http = basalt::http;

constexpr std::string_view kContentType = "application/octet-stream";

// Printable and not one repeated byte, so that run.sh's byte comparisons
// between the servers' answers mean something.
std::string pattern(std::size_t size) {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
  std::string out;
  out.resize(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = kAlphabet[i % kAlphabet.size()];
  return out;
}

// Limits equivalent to the nginx.conf of run.sh, which documents each pair.
http::Limits bench_limits() {
  http::Limits limits;
  // nginx: keepalive_requests 100000. wrk keeps its 64 connections for the
  // whole run; a smaller cap would add reconnects to one side only.
  limits.max_requests_per_connection = 100'000;
  // nginx: client_max_body_size 0 (unlimited); the upload is streamed.
  limits.max_body_bytes = 0;
  // nginx's client_body_timeout is between two reads; ours is for the
  // whole body unless 0: a 1 GiB transfer may take a minute.
  limits.body_timeout = std::chrono::milliseconds(0);
  return limits;
}

http::Router make_router(const std::string& small, const std::string& large) {
  http::Router router;
  router.add("/1k", {"GET"}, [&small](http::Request) -> asio::awaitable<http::Response> {
    co_return http::Response(200, small, kContentType);
  });
  // Streamed from the prepared bytes: no copy of the body per response (the
  // buffered /1k copies its 1 KiB, as a DoH or metrics handler would).
  router.add_stream("/100k", {"GET"},
                    [&large](http::ServerRequest, http::ResponseWriter& response) -> asio::awaitable<void> {
                      boost::system::error_code error;
                      http::ResponseHead head{
                          200,
                          {{"content-type", kContentType}, {"content-length", std::to_string(large.size())}}};
                      co_await response.write_head(std::move(head), error);
                      std::string_view body(large);
                      if (!error) co_await response.write(body, error);
                      co_await response.finish({}, error);
                    });
  // Streamed: 64 KiB pieces, each written once the peer has taken the last
  // (write() waits), so memory stays flat for any N and any reader speed.
  router.add_stream("/download", {"GET"},
                    [](http::ServerRequest request, http::ResponseWriter& response) -> asio::awaitable<void> {
                      auto text = request.query_param("bytes").value_or("");
                      std::uint64_t bytes = 0;
                      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
                      boost::system::error_code error;
                      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
                        http::Response refused = http::Response::text(400, "bytes=N expected");
                        co_await response.respond(std::move(refused), error);
                        co_return;
                      }
                      http::ResponseHead head{
                          200, {{"content-type", kContentType}, {"content-length", std::to_string(bytes)}}};
                      co_await response.write_head(std::move(head), error);
                      const std::string piece = pattern(64 * 1024);
                      while (!error && bytes > 0) {
                        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, piece.size()));
                        std::string_view chunk(piece.data(), n);
                        co_await response.write(chunk, error);
                        bytes -= n;
                      }
                      co_await response.finish({}, error);
                    });
  // Streamed: counts the body as it arrives without keeping it.
  router.add_stream("/upload", {"POST", "PUT"},
                    [](http::ServerRequest request, http::ResponseWriter& response) -> asio::awaitable<void> {
                      std::uint64_t total = 0;
                      boost::system::error_code error;
                      for (;;) {
                        std::string chunk = co_await request.body->read(error);
                        if (error || chunk.empty()) break;
                        total += chunk.size();
                      }
                      if (error) {
                        response.reset();
                        co_return;
                      }
                      http::Response counted(200, std::to_string(total) + "\n", "text/plain");
                      co_await response.respond(std::move(counted), error);
                    });
  return router;
}

std::optional<core::Endpoint> parse_endpoint(const std::string& option, const std::string& text) {
  std::string error;
  auto endpoint = core::Endpoint::parse(text, &error);
  if (!endpoint) spdlog::error("{}: \"{}\" {}", option, text, error);
  return endpoint;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("basalt-bench-http: the HTTP server of bench/http/run.sh (one worker)");
  std::string listen;
  std::string tls_listen;
  std::string cert;
  std::string key;
  std::string log_level = "warn";
  app.add_option("--listen", listen, "ADDR:PORT for cleartext HTTP/1.1 and h2c");
  auto* tls_opt =
      app.add_option("--tls-listen", tls_listen, "ADDR:PORT for HTTPS (TLS 1.3, ALPN h2, http/1.1)");
  app.add_option("--cert", cert, "certificate PEM file (with --tls-listen)")->needs(tls_opt);
  app.add_option("--key", key, "private key PEM file (with --tls-listen)")->needs(tls_opt);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off");
  CLI11_PARSE(app, argc, argv);

  auto level = core::parse_log_level(log_level);
  if (!level) {
    spdlog::error("--log-level: \"{}\" is not one of {}", log_level, core::kLogLevelNames);
    return 2;
  }
  core::init_logging(*level);
  if (listen.empty() && tls_listen.empty()) {
    spdlog::error("give --listen, --tls-listen or both");
    return 2;
  }
  if (!tls_listen.empty() && (cert.empty() || key.empty())) {
    spdlog::error("--tls-listen needs --cert and --key");
    return 2;
  }

  const std::string small = pattern(1024);
  const std::string large = pattern(100 * 1024);
  try {
    core::Runtime runtime({.workers = 1});
    core::Shutdown shutdown(runtime, std::chrono::seconds(2));
    http::Router router = make_router(small, large);
    http::Server server(runtime, router.stream_handler(), bench_limits());
    server.attach(shutdown);
    if (!listen.empty()) {
      auto endpoint = parse_endpoint("--listen", listen);
      if (!endpoint) return 2;
      auto port = server.listen({.endpoint = *endpoint, .h2c = true});
      std::printf("listening on http://%s\n", core::Endpoint{endpoint->address, port}.to_string().c_str());
    }
    if (!tls_listen.empty()) {
      auto endpoint = parse_endpoint("--tls-listen", tls_listen);
      if (!endpoint) return 2;
      std::string error;
      auto tls = core::TlsServerContext::create({.certificates = {{.certificate = cert, .private_key = key}},
                                                 .alpn = http::alpn_protocols(),
                                                 .min_version = core::TlsVersion::kTls13},
                                                &error);
      if (!tls) {
        spdlog::error("--cert/--key: {}", error);
        return 2;
      }
      auto port = server.listen({.endpoint = *endpoint, .tls = std::move(tls)});
      std::printf("listening on https://%s\n", core::Endpoint{endpoint->address, port}.to_string().c_str());
    }
    std::fflush(stdout);
    shutdown.watch_signals();
    runtime.run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
