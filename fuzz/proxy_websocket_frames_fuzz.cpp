// The WebSocket frame tracker as the proxy runs it on a tunnel: bytes as they
// arrive, in one direction. Input: byte 0 picks the piece size, byte 1 the
// direction (masked or not) and whether a Pong token is expected (then the
// token's length, its bytes follow); the rest is the stream. The stream is
// fed whole and again in pieces, and both ways must agree on the output, the
// errors and the flags. The output must be the input itself, minus at most
// the one Pong carrying the token, minus what is still held; the tracker
// never holds more than kMaxBuffered bytes.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "http/websocket_frames.hpp"

namespace {

using basalt::proxy::WebSocketFrameTracker;

struct Run {
  std::string out;
  WebSocketFrameTracker::Error error = WebSocketFrameTracker::Error::kNone;
  bool pong_seen = false;
  bool close_seen = false;
};

Run feed(WebSocketFrameTracker& tracker, std::span<const std::uint8_t> input, std::size_t chunk,
         std::size_t bound) {
  Run run;
  for (std::size_t pos = 0; pos < input.size(); pos += chunk) {
    const auto result = tracker.feed(input.subspan(pos, std::min(chunk, input.size() - pos)), run.out);
    run.pong_seen |= result.pong_seen;
    run.close_seen |= result.close_seen;
    run.error = result.error;
    if (tracker.buffered() > bound) std::abort();
    if (result.error != tracker.error()) std::abort();
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t chunk = (data[0] % 32) + 1;
  const bool masked = (data[1] & 1) != 0;
  const bool expect = (data[1] & 2) != 0;
  const std::size_t token_size = std::min<std::size_t>((data[1] >> 2) % 9, size - 2);
  const std::string token(reinterpret_cast<const char*>(data + 2), expect ? token_size : 0);
  std::span<const std::uint8_t> input(data + 2 + token.size(), size - 2 - token.size());
  const std::string_view in(reinterpret_cast<const char*>(input.data()), input.size());
  // A data frame is never held: only its header. Only a Pong that may carry
  // the token is held whole.
  const std::size_t bound =
      expect ? WebSocketFrameTracker::kMaxBuffered : WebSocketFrameTracker::kMaxHeaderBytes;

  WebSocketFrameTracker whole(masked);
  WebSocketFrameTracker pieces(masked);
  if (expect) {
    whole.expect_pong(token);
    pieces.expect_pong(token);
  }
  const Run a = feed(whole, input, input.size() + 1, bound);
  const Run b = feed(pieces, input, chunk, bound);
  if (a.out != b.out || a.error != b.error || a.pong_seen != b.pong_seen || a.close_seen != b.close_seen ||
      whole.buffered() != pieces.buffered() || whole.at_frame_boundary() != pieces.at_frame_boundary() ||
      whole.expecting_pong() != pieces.expecting_pong()) {
    std::abort();
  }
  if (expect && a.pong_seen == whole.expecting_pong()) std::abort();  // the token answers once
  if (!expect && a.pong_seen) std::abort();

  // The output is the input with one Pong frame cut out, if one was swallowed:
  // up to the first difference it is the input, after it the input shifted by
  // the Pong's size.
  const std::size_t cut = a.pong_seen ? 2 + (masked ? 4 : 0) + token.size() : 0;
  if (a.out.size() + cut > in.size()) std::abort();
  const std::size_t same = static_cast<std::size_t>(
      std::mismatch(a.out.begin(), a.out.end(), in.begin(), in.end()).first - a.out.begin());
  if (same < a.out.size()) {
    if (cut == 0 || std::string_view(a.out).substr(same) != in.substr(same + cut, a.out.size() - same)) {
      std::abort();
    }
  }
  if (a.error == WebSocketFrameTracker::Error::kNone) {
    // Nothing lost: what is not forwarded or swallowed is still held.
    if (a.out.size() + cut + whole.buffered() != in.size()) std::abort();
  } else {
    // After an error nothing more comes out.
    std::string more;
    if (whole.feed(input, more).error != a.error || !more.empty() || whole.buffered() != 0) std::abort();
  }

  // The proxy's own Ping, with a mask key from the input, reads back as one
  // whole valid frame in its direction.
  std::array<std::uint8_t, 4> key{};
  std::copy_n(input.begin(), std::min<std::size_t>(4, input.size()), key.begin());
  const std::string ping = WebSocketFrameTracker::ping_frame(token, masked, key);
  WebSocketFrameTracker reader(masked);
  std::string out;
  const auto result = reader.feed(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(ping.data()), ping.size()), out);
  if (!result.ok() || out != ping || !reader.at_frame_boundary() || reader.buffered() != 0) std::abort();
  return 0;
}
