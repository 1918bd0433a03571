// Incremental HTTP/1.1 request parsing from received bytes (Boost.Beast's
// parser behind a small interface, so Beast stays in one translation unit).
//
// The server session and the fuzz target drive it the same way: put bytes in
// with prepare()/commit() (or append()), call parse() until it is no longer
// kNeedMore, take() the request, then reset() for the next one on the same
// connection (bytes of a pipelined next request are kept). Every byte is
// untrusted: limits bound memory, errors map to a status code.
#pragma once

#include "basalt/http/message.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace basalt::http {

class RequestReader {
 public:
  enum class Status { kNeedMore, kComplete, kBadRequest, kHeaderTooLarge, kBodyTooLarge, kNotImplemented };

  RequestReader(std::size_t max_header_bytes, std::size_t max_body_bytes);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Space for the next read, and how much of it was filled.
  boost::asio::mutable_buffer prepare();
  void commit(std::size_t n);
  void append(std::string_view bytes);

  Status parse();

  // Bytes of the current request are buffered (it has started).
  bool started() const noexcept;
  bool header_done() const noexcept;
  // The header asks for "100 Continue" and the body has not arrived yet.
  bool expects_continue() const noexcept;
  // HTTP status for a non-complete status (400, 431, 413).
  static int status_code(Status s) noexcept;

  // After kComplete: the request (remote/scheme left for the caller) and
  // whether the connection may stay open by the request's own rules.
  Request take();
  bool keep_alive() const noexcept;

  // Prepares for the next request on the same connection.
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
