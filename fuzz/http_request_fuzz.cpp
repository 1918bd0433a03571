// HTTP/1.1 request parsing as the server runs it: bytes in arbitrary chunks
// through RequestReader, requests taken and the reader reset for pipelined
// ones, with small limits so the 431/413 paths are reached.
#include "h1_request_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: chunk size for feeding (1..64), so split points vary.
  std::size_t chunk = (data[0] % 64) + 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  basalt::http::RequestReader reader(2048, 4096);
  std::size_t pos = 0;
  for (int requests = 0; requests < 64;) {
    auto status = reader.parse();
    if (status == basalt::http::RequestReader::Status::kNeedMore) {
      if (pos >= input.size()) break;
      (void)reader.expects_continue();
      reader.append(input.substr(pos, chunk));
      pos += chunk;
      continue;
    }
    if (status != basalt::http::RequestReader::Status::kComplete) break;
    auto request = reader.take();
    (void)request.query_param("dns");
    (void)reader.keep_alive();
    reader.reset();
    ++requests;
  }
  return 0;
}
