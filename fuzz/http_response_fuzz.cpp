// HTTP/1.1 response parsing as the client runs it (every ACME CA response
// goes through it): bytes in arbitrary chunks through ResponseReader's
// prepare/commit/parse, the connection closed by the server when the input
// ends, and the response taken once complete. Small limits so the
// kTooLarge paths are reached.
#include "h1_response_reader.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: chunk size for feeding (1..64), so split points vary, and
  // whether the request was a HEAD (the response then has no body).
  const std::size_t chunk = (data[0] & 0x3f) + 1;
  const bool head = (data[0] & 0x40) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  basalt::http::ResponseReader reader(2048, 4096, head);
  using Status = basalt::http::ResponseReader::Status;
  Status status = reader.parse();
  std::size_t pos = 0;
  while (status == Status::kNeedMore) {
    if (pos >= input.size()) {
      status = reader.finish_on_eof();
      break;
    }
    auto buffer = reader.prepare();
    const std::size_t n = std::min({chunk, input.size() - pos, buffer.size()});
    std::memcpy(buffer.data(), input.data() + pos, n);
    reader.commit(n);
    pos += n;
    status = reader.parse();
  }
  if (status == Status::kComplete) {
    auto response = reader.take();
    (void)reader.keep_alive();
    if (response.status < 0 || response.status > 999 || response.body.size() > 4096) std::abort();
    (void)response.headers.get("retry-after");
  }
  return 0;
}
