// The streaming handler a Server calls for every request: it gets the
// request head at once and reads the body as it arrives; it sends the
// response head, then body bytes as it has them, then optional trailers.
//
//   http::StreamHandler echo = [](http::ServerRequest req, http::ResponseWriter& res)
//       -> boost::asio::awaitable<void> {
//     boost::system::error_code ec;
//     co_await res.write_head({200, {{"content-type", "application/octet-stream"}}}, ec);
//     for (;;) {
//       std::string chunk = co_await req.body->read(ec);
//       if (ec || chunk.empty()) break;
//       co_await res.write(chunk, ec);         // waits while the client does not read
//       if (ec) co_return;
//     }
//     co_await res.finish({}, ec);
//   };
//
// The same code serves HTTP/1.1 (Content-Length, chunked, or until close)
// and HTTP/2 (DATA frames under flow control). Backpressure runs end to end:
// a request body is read from the socket (HTTP/2: WINDOW_UPDATE is sent)
// only as the handler takes it, and write() completes only once the bytes
// are within the connection's bound, so memory per request stays bounded
// whatever the body size.
//
// Upgrades and tunnels: answering an HTTP/1.1 `Upgrade` request with 101,
// a `CONNECT` with 2xx, or an HTTP/2 extended CONNECT (RFC 8441, request
// `protocol` set) with 2xx turns the exchange into a byte tunnel: the
// request body then carries every byte the client sends, write() sends raw
// bytes, finish() ends our direction (TCP FIN / END_STREAM).
//
// Rules: a handler runs on its connection's worker; an exception before the
// head was sent becomes a 500, after it a reset; returning without a head
// sends 500; returning after the head ends the body (finish()), except that
// a body shorter than its Content-Length is a reset. handler_timeout bounds
// the time to the head (503), stream_idle_timeout a body that stops moving.
#pragma once

#include "basalt/http/body.hpp"
#include "basalt/http/handler.hpp"
#include "basalt/http/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <string_view>

namespace basalt::http {

// A request as a streaming handler sees it.
struct ServerRequest : RequestHead {
  // Never null; already done() when the request has no body. Its error()
  // says why an upload ended early: BodyError::kReset (the client reset or
  // closed), kTooLarge (Limits::max_body_bytes), kTimeout.
  std::shared_ptr<Body> body;
};

// Where a streaming handler sends its response. Implemented by the
// HTTP/1.1 and HTTP/2 sessions; valid until the handler returns.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Sends the head. A content-length field fixes the body's length; without
  // one HTTP/1.1 sends chunked (HTTP/1.0: until close) and HTTP/2 sends DATA
  // until finish(). Informational heads (1xx other than 101) may come first,
  // any number of them. Connection-specific fields are dropped for HTTP/2.
  virtual boost::asio::awaitable<void> write_head(ResponseHead head, boost::system::error_code& ec) = 0;
  // Body bytes. Completes once they fit within the connection's bound (the
  // peer's flow-control window / the socket), so a slow reader slows the
  // handler. Fails once the peer reset or went away.
  virtual boost::asio::awaitable<void> write(std::string_view bytes, boost::system::error_code& ec) = 0;
  // Ends the body. Trailers go out on HTTP/2 and chunked HTTP/1.1 and are
  // dropped otherwise.
  virtual boost::asio::awaitable<void> finish(Headers trailers, boost::system::error_code& ec) = 0;
  // Head, whole body and end in one step: what the buffered adapter uses,
  // and the fastest way to send a small response.
  virtual boost::asio::awaitable<void> respond(Response response, boost::system::error_code& ec) = 0;
  // Abandons the exchange: HTTP/2 RST_STREAM(INTERNAL_ERROR), HTTP/1.1
  // closes the connection (the client sees a truncated response).
  virtual void reset() = 0;
  // The final (non-1xx) head was sent.
  virtual bool head_sent() const noexcept = 0;
  // finish() (or respond()) completed, or the exchange was reset.
  virtual bool finished() const noexcept = 0;
};

using StreamHandler = std::function<boost::asio::awaitable<void>(ServerRequest, ResponseWriter&)>;

// The buffered adapter: reads the whole request body (at most
// `max_body_bytes`, else 413), calls `handler`, sends its Response with
// respond(). What Server does with a Handler.
StreamHandler buffered(Handler handler, std::size_t max_body_bytes);

}  // namespace basalt::http
