// An HTTP client for HTTP/2 and HTTP/1.1 over TLS (ALPN picks h2 when the
// server offers it), cleartext HTTP/1.1, and cleartext HTTP/2 with prior
// knowledge (h2c, for backends), with a connection pool per origin.
//
// Used by the DoH client (RFC 8484 GET/POST), the ACME client (JWS POSTs,
// HEAD for nonces, Location/Replay-Nonce/Retry-After headers) and the
// proxy. request() is buffered (whole body in, whole body out); open()
// streams both bodies with backpressure (body.hpp): the response head comes
// back as soon as it arrives and its body is read as it flows, the request
// body is sent from a Body the caller writes into. Requests to one origin
// share connections: an HTTP/2 connection carries concurrent streams up to
// the server's SETTINGS_MAX_CONCURRENT_STREAMS; HTTP/1.1 connections carry
// one request at a time and are kept alive. Redirects are never followed: a
// 3xx comes back as it is.
//
// Upgrades and tunnels: a request with an `Upgrade` field (HTTP/1.1 only)
// answered 101, a CONNECT answered 2xx, or an extended CONNECT (RFC 8441:
// method CONNECT with `protocol` set; HTTP/2 only, the server must announce
// SETTINGS_ENABLE_CONNECT_PROTOCOL) answered 2xx becomes a byte tunnel:
// ClientStream::body carries the server's bytes, the request's body_stream
// ours.
//
// Retries: a request that fails on a pooled connection the server had
// already closed is retried once on a fresh connection, when that is safe
// (no byte of it was sent, or the method is idempotent, its body was not
// streamed, and no byte of the response arrived).
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
#include "basalt/http/body.hpp"
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
  kPoolFull,          // max_pending_per_origin requests already wait for a connection
  kNotSupported,      // e.g. extended CONNECT to a server that does not allow it
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
  // request() only (open() streams without a limit).
  std::size_t max_response_body_bytes = 16 * 1024 * 1024;

  // The pool, per origin (scheme://host:port). Defaults follow Envoy's
  // cluster circuit breakers and HAProxy's server pools.
  std::size_t max_connections_per_origin = 64;  // open connections (HTTP/1.1 and HTTP/2)
  std::size_t max_idle_per_origin = 16;         // kept-alive HTTP/1.1 connections
  std::size_t max_pending_per_origin = 1024;    // requests waiting for a connection (kPoolFull beyond)
  std::size_t max_requests_per_connection = 0;  // then a connection is retired; 0 = no limit
  // A connection older than this takes no new request (one still running
  // is never cut); 0 = no limit.
  std::chrono::milliseconds max_connection_age{0};

  // http:// URLs speak HTTP/2 with prior knowledge (RFC 9113 §3.3) instead
  // of HTTP/1.1: for backends known to support it.
  bool h2c = false;
  // HTTP/2 receive windows for response bodies (per stream, per connection);
  // WINDOW_UPDATE is sent only for bytes the caller has read.
  std::uint32_t initial_window_size = 256 * 1024;
  std::uint32_t connection_window_size = 1024 * 1024;
  // Like curl --resolve: "host:port" -> address to connect to, instead of
  // resolving (the host name is still used for SNI and verification).
  std::map<std::string, core::Endpoint> resolve;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // "https://host[:port]/path?query"
  Headers headers;
  std::string body;
  // A streamed request body instead of `body`: the client sends what the
  // caller writes into it (Body::write waits while the server does not
  // take it) until Body::finish(); trailers go out on HTTP/2 and chunked
  // HTTP/1.1. A content-length field in `headers` fixes the length, else
  // HTTP/1.1 sends chunked. Create it with the Client's executor.
  std::shared_ptr<Body> body_stream;
  // Extended CONNECT (RFC 8441) :protocol, e.g. "websocket"; method CONNECT.
  std::string protocol;
  // A proxy's overrides. `authority`: the Host / :authority to send instead
  // of the URL's (the client's own Host, passed on). `connect_to`: the
  // address to connect to instead of resolving the URL's host, which still
  // names the TLS server (SNI, verification); connections are pooled per
  // URL origin and address.
  std::string authority;
  std::optional<core::Endpoint> connect_to;
  // request(): the whole exchange, connect included. open(): until the
  // response head (the body then streams as long as it moves).
  std::optional<std::chrono::milliseconds> timeout;  // default: options.request_timeout
};

struct ClientResult {
  boost::system::error_code error;  // empty on success
  std::string detail;               // more about the error, e.g. the verification failure
  Response response;
  Version version = Version::http1_1;
  explicit operator bool() const noexcept { return !error; }
};

// A streaming response (Client::open).
struct ClientStream {
  boost::system::error_code error;  // empty on success
  std::string detail;
  ResponseHead head;           // the final head (1xx are skipped; 101 is final)
  std::shared_ptr<Body> body;  // the response body as it arrives; never null on success
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

  // Sends `request` (copied at once) and completes when the response head
  // arrived (or the request failed). Read the body from the result's Body;
  // aborting it (Body::abort) cancels the exchange (HTTP/2 RST_STREAM,
  // HTTP/1.1 the connection is closed). The connection returns to the pool
  // once both bodies are done.
  boost::asio::awaitable<ClientStream> open(const ClientRequest& request);

  // The io_context's executor: create a request's body_stream with it.
  boost::asio::any_io_executor executor() const;

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
