// Incremental HTTP/1.1 response parsing for the client (Beast's parser
// behind a small interface, like RequestReader on the server side). It
// streams: the head is reported as soon as it is parsed, body bytes are
// taken out as they are decoded (Content-Length, chunked, or until the
// server closes), and chunked trailers come at the end. The caller decides
// when to read the socket again, so it bounds what waits in memory.
#pragma once

#include "basalt/http/message.hpp"

#include <boost/asio/buffer.hpp>

#include <memory>
#include <string>

namespace basalt::http {

class ResponseReader {
 public:
  enum class Status {
    kNeedMore,  // feed more bytes (prepare/commit), or finish_on_eof()
    kInterim,   // a 1xx head other than 101 was skipped; interim_status() says which
    kHead,      // the final head is parsed (once); head() valid; body bytes may follow
    kComplete,  // the message ended; trailers() valid
    kBad,
    kTooLarge,  // head over the limit (or a chunk line)
  };

  // `no_body`: the response has no body whatever its headers say (the
  // request was HEAD, or a CONNECT whose 2xx starts a tunnel).
  ResponseReader(std::size_t max_header_bytes, bool no_body);
  ~ResponseReader();

  boost::asio::mutable_buffer prepare();
  void commit(std::size_t n);
  // Parses what was committed. Returns kHead once, then kNeedMore until the
  // end (kComplete, repeated on further calls). Decoded body bytes collect
  // in take_body().
  Status parse();
  // The server closed the connection: a body delimited by EOF ends here
  // (kComplete), anything else is kBad.
  Status finish_on_eof();

  int interim_status() const noexcept;
  // The final head (after kHead).
  const ResponseHead& head() const noexcept;
  // Body bytes decoded since the last call.
  std::string take_body();
  // Chunked trailers (after kComplete).
  Headers trailers() const;
  // Bytes received but not parsed: after a 101 or a CONNECT's 2xx, the
  // first bytes of the tunnel.
  std::string take_unparsed();
  // Every byte committed so far (0: the server sent nothing).
  std::uint64_t bytes_received() const noexcept;
  // After kComplete: the connection may carry another request.
  bool keep_alive() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
