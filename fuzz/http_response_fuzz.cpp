// HTTP/1.1 response parsing as the client runs it (every ACME CA response
// and every streamed download goes through it): bytes in varying chunks
// through ResponseReader's prepare/commit/parse, the head reported once,
// 1xx skipped, body bytes taken out as they are decoded (Content-Length,
// chunked with trailers, until close), the connection closed by the server
// when the input ends. Also what a tunnel keeps after a 101. Small limits so
// the kTooLarge paths are reached.
#include "h1_response_reader.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // First byte: base chunk size (1..64) and whether the request was a HEAD
  // or CONNECT (no body whatever the headers say); second: how the chunk
  // size varies from feed to feed, so split points move.
  const std::size_t base = (data[0] & 0x3f) + 1;
  const bool no_body = (data[0] & 0x40) != 0;
  const bool stop_at_head = (data[0] & 0x80) != 0;  // a tunnel: the rest is raw bytes
  const std::uint8_t step = data[1];
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  basalt::http::ResponseReader reader(2048, no_body);
  using Status = basalt::http::ResponseReader::Status;
  std::size_t pos = 0;
  std::size_t feeds = 0;
  std::size_t body_bytes = 0;
  bool head_seen = false;
  for (;;) {
    Status status = reader.parse();
    body_bytes += reader.take_body().size();
    if (status == Status::kInterim) {
      if (head_seen || reader.interim_status() < 100 || reader.interim_status() > 199) std::abort();
      continue;
    }
    if (status == Status::kHead) {
      if (head_seen) std::abort();  // reported once
      head_seen = true;
      const auto& head = reader.head();
      if (head.status < 0 || head.status > 999) std::abort();
      (void)head.headers.get("retry-after");
      if (stop_at_head && head.status == 101) {
        (void)reader.take_unparsed();
        break;
      }
      continue;
    }
    if (status == Status::kComplete) {
      if (!head_seen) std::abort();
      auto trailers = reader.trailers();
      (void)trailers.size();
      (void)reader.keep_alive();
      if (no_body && body_bytes != 0) std::abort();
      break;
    }
    if (status == Status::kBad || status == Status::kTooLarge) break;
    if (pos >= input.size()) {
      if (reader.finish_on_eof() == Status::kComplete) {
        if (!head_seen) std::abort();
        body_bytes += reader.take_body().size();
        (void)reader.trailers();
      }
      break;
    }
    auto buffer = reader.prepare();
    std::size_t want = base + (step * feeds++) % 61;
    const std::size_t n = std::min({want, input.size() - pos, buffer.size()});
    std::memcpy(buffer.data(), input.data() + pos, n);
    reader.commit(n);
    pos += n;
  }
  if (reader.bytes_received() != pos) std::abort();
  if (body_bytes > input.size()) std::abort();
  return 0;
}
