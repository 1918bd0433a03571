// A message body in flight: the bytes one side produces and the other
// consumes, in order, ending with optional trailers or with an error, with a
// bound on what may wait in between.
//
// Every streaming body in basalt::http is a Body: the request body a server
// handler reads while the client is still uploading, the response body a
// client reads while the server is still sending, the upload a client
// request streams, and the bytes of an upgraded connection (WebSocket,
// CONNECT, RFC 8441) in each direction. The side that owns the wire pushes
// what arrived and is told, through on_consumed(), when the consumer took
// bytes: HTTP/2 sends WINDOW_UPDATE only then, HTTP/1.1 reads the socket
// again only then. So a slow consumer slows the peer instead of growing
// memory: at most about capacity() bytes wait here (plus one pushed chunk).
//
//   for (;;) {                                   // consumer
//     boost::system::error_code ec;
//     std::string chunk = co_await body->read(ec);
//     if (ec) { /* reset, timeout, limit: ec says which */ break; }
//     if (chunk.empty()) break;                  // the end; trailers() now valid
//     consume(chunk);
//   }
//
// Thread-safety: none; a Body lives on one executor (its connection's
// worker) and both sides use it there. Held by std::shared_ptr by both
// sides; either may go away first.
#pragma once

#include "basalt/http/headers.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::http {

// Why a body ended early. Reported by Body::read() and Body::write().
enum class BodyError {
  kReset = 1,  // the peer reset the stream or closed the connection mid-body
  kAborted,    // the consumer stopped reading (Body::abort)
  kTooLarge,   // over a size limit
  kTimeout,    // no progress within the body's timeout
  kProtocol,   // framing error (bad chunk, DATA beyond Content-Length)
};
const boost::system::error_category& body_category() noexcept;
boost::system::error_code make_error_code(BodyError e) noexcept;

class Body {
 public:
  static constexpr std::size_t kDefaultCapacity = 64 * 1024;

  explicit Body(boost::asio::any_io_executor executor, std::size_t capacity = kDefaultCapacity);
  ~Body();
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  // A body that has already ended with `bytes` (maybe none): what a request
  // without a body, or a buffered one, gets.
  static std::shared_ptr<Body> complete(boost::asio::any_io_executor executor, std::string bytes = {});

  // ---- consumer --------------------------------------------------------

  // The next bytes, as they arrived (at most one pushed chunk); an empty
  // string at the end. With `ec` set when the body failed or was aborted.
  boost::asio::awaitable<std::string> read(boost::system::error_code& ec);
  // Everything to the end. kTooLarge (the rest is aborted) once more than
  // `limit` bytes arrive.
  boost::asio::awaitable<std::string> read_all(std::size_t limit, boost::system::error_code& ec);
  // Without waiting: copies up to out.size() buffered bytes, returns how many.
  std::size_t take(std::span<std::uint8_t> out);
  // The consumer gives up: buffered bytes are dropped, later pushes are
  // refused, a waiting write() fails with kAborted, and on_abort() runs
  // (HTTP/2: RST_STREAM(CANCEL); HTTP/1.1: the connection closes).
  void abort(boost::system::error_code why = make_error_code(BodyError::kAborted));

  // Bytes waiting to be consumed.
  std::size_t buffered() const noexcept { return buffered_; }
  std::size_t capacity() const noexcept { return capacity_; }
  // The end arrived and every byte before it was consumed.
  bool done() const noexcept { return ended_ && buffered_ == 0; }
  // The producer finished (bytes may still be buffered).
  bool ended() const noexcept { return ended_; }
  const boost::system::error_code& error() const noexcept { return error_; }
  // Fields sent after the body (HTTP/2, HTTP/1.1 chunked); valid once done().
  const Headers& trailers() const noexcept { return trailers_; }
  // Total bytes pushed so far.
  std::uint64_t received() const noexcept { return received_; }

  // ---- producer --------------------------------------------------------

  // Appends without waiting (the producer bounds itself, e.g. by the HTTP/2
  // window or by not reading its socket while buffered() >= capacity()).
  // False, and nothing kept, after abort().
  bool push(std::string_view bytes);
  bool push(std::string&& bytes);
  // Waits while buffered() >= capacity(), then appends. `ec` is kAborted
  // after abort(), or the error the body failed with.
  boost::asio::awaitable<void> write(std::string_view bytes, boost::system::error_code& ec);
  // The end of the body, with optional trailers. Idempotent; ignored after fail().
  void finish(Headers trailers = {});
  // Ends the body with an error: buffered bytes are dropped and the
  // consumer's next (or waiting) read() reports `ec`.
  void fail(boost::system::error_code ec);
  // Waits until the consumer took every byte (or aborted / failed).
  boost::asio::awaitable<void> drained();

  // ---- hooks for the side that owns the wire ---------------------------
  // Called with the byte count each time the consumer takes bytes.
  void on_consumed(std::function<void(std::size_t)> f) { on_consumed_ = std::move(f); }
  // Called when bytes or the end arrive (for a consumer that does not wait
  // in read(), such as an HTTP/2 data source that must be resumed).
  void on_readable(std::function<void()> f) { on_readable_ = std::move(f); }
  // Called once, when the consumer aborts.
  void on_abort(std::function<void(boost::system::error_code)> f) { on_abort_ = std::move(f); }

 private:
  void wake_reader();
  void wake_writer();
  void consumed(std::size_t n);
  bool empty() const noexcept { return head_ == chunks_.size(); }
  void pop_front();
  void drop_all();

  boost::asio::any_io_executor executor_;
  std::size_t capacity_;
  // Pending chunks are chunks_[head_..]; a vector (no allocation until the
  // first push, unlike std::deque) compacted as the consumer takes them.
  std::vector<std::string> chunks_;
  std::size_t head_ = 0;
  std::size_t offset_ = 0;  // into chunks_[head_]
  std::size_t buffered_ = 0;
  std::uint64_t received_ = 0;
  bool ended_ = false;
  bool aborted_ = false;
  boost::system::error_code error_;
  Headers trailers_;
  std::unique_ptr<boost::asio::steady_timer> reader_wait_;
  std::unique_ptr<boost::asio::steady_timer> writer_wait_;
  std::function<void(std::size_t)> on_consumed_;
  std::function<void()> on_readable_;
  std::function<void(boost::system::error_code)> on_abort_;
};

}  // namespace basalt::http

template <>
struct boost::system::is_error_code_enum<basalt::http::BodyError> : std::true_type {};
