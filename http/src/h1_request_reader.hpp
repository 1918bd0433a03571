// Incremental HTTP/1.1 request parsing from received bytes (Boost.Beast's
// parser behind a small interface, so Beast stays in one translation unit).
//
// The server session streams: put bytes in with prepare()/commit() (or
// append()), call parse_head() until it is no longer kNeedMore, take_head(),
// then parse_body() piece by piece as the handler takes them, then reset()
// for the next request on the same connection (bytes of a pipelined next
// request are kept). parse()/take() do the same for a whole request (unit
// tests and the fuzz target). Every byte is untrusted: limits bound memory,
// errors map to a status code.
#pragma once

#include "basalt/http/message.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace basalt::http {

class RequestReader {
 public:
  enum class Status {
    kNeedMore,
    kComplete,
    kBadRequest,
    kHeaderTooLarge,
    kBodyTooLarge,
    kNotImplemented,
    kUriTooLong,
  };

  // `max_body_bytes` 0: no limit. The request line and field count limits
  // are checked once the head is parsed (the head itself is bounded by
  // `max_header_bytes`).
  RequestReader(std::size_t max_header_bytes, std::size_t max_body_bytes,
                std::size_t max_request_line_bytes = SIZE_MAX, std::size_t max_header_count = SIZE_MAX);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Space for the next read, and how much of it was filled.
  boost::asio::mutable_buffer prepare();
  void commit(std::size_t n);
  void append(std::string_view bytes);
  // Received bytes not parsed yet.
  std::size_t buffered() const noexcept;

  // ---- streaming: the head, then the body in pieces --------------------
  // kComplete once the head is parsed and its framing checked.
  Status parse_head();
  // After parse_head() == kComplete: the head (remote/scheme left for the caller).
  RequestHead take_head();
  // A body follows the head (Content-Length > 0, or chunked).
  bool has_body() const noexcept;
  // Appends up to `max` decoded body bytes that are buffered to `out`.
  // kComplete at the end of the body (then take_trailers()), kNeedMore when
  // it needs more input (or `out` reached `max`), an error status otherwise.
  Status parse_body(std::string& out, std::size_t max);
  // Trailer fields of a chunked body, after parse_body() == kComplete.
  Headers take_trailers();
  // Every byte received after the head, as it came (an upgraded connection
  // or CONNECT tunnel); the reader is spent afterwards.
  std::string take_raw();

  // ---- whole requests (tests, fuzzing) ---------------------------------
  // parse_head() then the whole body, bounded by max_body_bytes.
  Status parse();
  // After parse() == kComplete.
  Request take();

  // Bytes of the current request are buffered (it has started).
  bool started() const noexcept;
  bool header_done() const noexcept;
  // The head asks for "100 Continue" and the body has not arrived yet.
  bool expects_continue() const noexcept;
  // Connection: upgrade with an Upgrade field (WebSocket and the like).
  bool upgrade() const noexcept;
  // HTTP status for a non-complete status (400, 414, 431, 413, 501).
  static int status_code(Status s) noexcept;

  // After the head: whether the connection may stay open by the request's rules.
  bool keep_alive() const noexcept;

  // Prepares for the next request on the same connection (bytes of a
  // pipelined next request are kept).
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
