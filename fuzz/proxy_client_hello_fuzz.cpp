// The TLS ClientHello reader as the proxy runs it: bytes as they arrive.
// The input is fed whole and again in pieces (the first byte picks the piece
// size), and both ways must agree on the result, the hello and consumed().
#include "l4/client_hello.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = (data[0] % 32) + 1;
  std::span<const std::uint8_t> input(data + 1, size - 1);

  basalt::proxy::ClientHelloReader whole;
  const auto whole_result = whole.feed(input);

  basalt::proxy::ClientHelloReader pieces;
  auto pieces_result = basalt::proxy::ClientHelloReader::Result::kNeedMore;
  for (std::size_t pos = 0; pos < input.size(); pos += chunk) {
    pieces_result = pieces.feed(input.subspan(pos, std::min(chunk, input.size() - pos)));
  }
  if (pieces_result != whole_result || pieces.consumed() != whole.consumed() ||
      pieces.hello() != whole.hello()) {
    std::abort();
  }
  if (whole_result == basalt::proxy::ClientHelloReader::Result::kDone) {
    const auto& hello = whole.hello();
    if (hello.server_name.size() > 253 || whole.consumed() > input.size()) std::abort();
    for (char c : hello.server_name) {
      if (c >= 'A' && c <= 'Z') std::abort();
    }
  }
  return 0;
}
