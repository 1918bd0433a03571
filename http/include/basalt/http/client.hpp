// An HTTP client for HTTP/2 and HTTP/1.1 over TLS (ALPN picks h2 when the
// server offers it), and cleartext HTTP/1.1, with connection reuse.
//
// Used by the DoH client (RFC 8484 GET/POST), the ACME client (JWS POSTs,
// HEAD for nonces, Location/Replay-Nonce/Retry-After headers) and later the
// proxy. Requests to one origin share connections: one HTTP/2 connection
// carries concurrent requests as streams; HTTP/1.1 connections are kept
// alive and reused one request at a time. Redirects are never followed: a
// 3xx comes back as it is.
//
//   http::Client client(io, {.tls = {.ca = "ca.pem"}});
//   auto r = co_await client.request({.method = "POST", .url = "https://acme/new-order",
//                                     .headers = {{"content-type", "application/jose+json"}},
//                                     .body = jws});
//   if (!r) log(r.error.message()); else use(r.response.status, r.response.headers.get("location"));
//
// Thread-safety: a Client belongs to one io_context and must be used from its
// thread only (one Client per Runtime worker). Failures (connect, TLS
// verification, timeout, malformed or too large response) are returned in
// ClientResult::error, never thrown. Lifetime: destroy the Client after its
// requests finished; the io_context must outlive it.
#pragma once

#include "basalt/core/ip.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/http/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace basalt::http {

enum class ClientError {
  kBadUrl = 1,        // not an absolute http(s) URL
  kResolveFailed,     // host name did not resolve
  kConnectFailed,     // no address accepted the connection
  kTlsFailed,         // handshake or certificate verification failed (see detail)
  kTimeout,           // request_timeout passed
  kConnectionClosed,  // the server closed before the whole response
  kProtocolError,     // malformed response, or HTTP/2 stream/connection error
  kResponseTooLarge,  // header or body over the limits
};
const boost::system::error_category& client_category() noexcept;
boost::system::error_code make_error_code(ClientError e) noexcept;

struct ClientOptions {
  // Trust and ALPN for https: CA PEM text or file ("" = system store) and
  // verification switch. ALPN is set by the client (h2 first unless http2 = false).
  core::TlsClientOptions tls;
  bool http2 = true;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  // default per request, connect included
  std::chrono::milliseconds idle_timeout{60'000};     // pooled connections unused this long are closed
  std::size_t max_response_header_bytes = 64 * 1024;
  std::size_t max_response_body_bytes = 16 * 1024 * 1024;
  std::size_t max_idle_per_origin = 4;  // kept-alive HTTP/1.1 connections
  // Like curl --resolve: "host:port" -> address to connect to, instead of
  // resolving (the host name is still used for SNI and verification).
  std::map<std::string, core::Endpoint> resolve;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // "https://host[:port]/path?query"
  Headers headers;
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  // default: options.request_timeout
};

struct ClientResult {
  boost::system::error_code error;  // empty on success
  std::string detail;               // more about the error, e.g. the verification failure
  Response response;
  Version version = Version::http1_1;
  explicit operator bool() const noexcept { return !error; }
};

class Client {
 public:
  // Throws std::invalid_argument when options.tls is unusable (bad CA file).
  Client(boost::asio::io_context& io, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` (copied at once; the argument may be a temporary) and
  // completes with the response or an error.
  boost::asio::awaitable<ClientResult> request(const ClientRequest& request);

  // Closes pooled connections (in-flight requests fail with kConnectionClosed).
  void close();

  // Connections opened so far (for tests and metrics).
  std::size_t connections_opened() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::http

template <>
struct boost::system::is_error_code_enum<basalt::http::ClientError> : std::true_type {};
