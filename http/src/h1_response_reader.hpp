// Incremental HTTP/1.1 response parsing for the client (Beast's parser
// behind a small interface, like RequestReader on the server side).
#pragma once

#include "basalt/http/message.hpp"

#include <boost/asio/buffer.hpp>

#include <memory>

namespace basalt::http {

class ResponseReader {
 public:
  enum class Status { kNeedMore, kComplete, kBad, kTooLarge };

  // `head_request`: the response has no body whatever its headers say.
  ResponseReader(std::size_t max_header_bytes, std::size_t max_body_bytes, bool head_request);
  ~ResponseReader();

  boost::asio::mutable_buffer prepare();
  void commit(std::size_t n);
  Status parse();
  // The server closed the connection: a body delimited by EOF ends here.
  Status finish_on_eof();

  Response take();
  bool keep_alive() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
