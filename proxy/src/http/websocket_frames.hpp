// Following the frames of one direction of a proxied WebSocket (RFC 6455 §5)
// so the proxy can keep an idle tunnel alive with its own Ping frames.
//
// The tunnel's bytes stay opaque: the tracker reads only frame headers and
// passes every byte through unchanged, except the Pong that answers the
// proxy's own Ping (a Pong whose unmasked payload is the token given to
// expect_pong()), which it swallows so the other peer never sees it. It
// says when the bytes forwarded so far end on a frame boundary, which is
// where the proxy may write a Ping of its own into the stream going the
// same way (control frames may sit between the fragments of a message).
//
//   WebSocketFrameTracker up(/*masked_input=*/true);     // client -> backend
//   WebSocketFrameTracker down(/*masked_input=*/false);  // backend -> client
//   auto r = down.feed(bytes, out);  // write `out` to the client
//   if (!r.ok()) close the tunnel;  if (r.pong_seen) the backend is alive;
//   // to ping the backend: when up.at_frame_boundary(), write
//   // ping_frame(token, true, key) to the backend, then down.expect_pong(token).
//
// Checked (a violation is a protocol error that ends the tunnel): the mask
// bit matches the direction (§5.1: a client masks every frame, a server
// none), opcodes 3-7 and 0xB-0xF are unused, control frames are not
// fragmented and carry at most 125 bytes, a 64-bit length has its top bit
// clear, and continuation frames follow a message start (§5.4). Not checked:
// RSV bits (an extension negotiated in the handshake may use them), UTF-8
// in text frames, Close codes, minimal length encoding.
//
// Bounds: data frames of any length are streamed, never buffered. The
// tracker holds at most one frame header (14 bytes) that is still
// incomplete, plus, for a Pong that may carry the proxy's token, that Pong's
// payload (at most 125 bytes): buffered() <= kMaxBuffered. Storage is inline;
// feed() allocates only by appending to `out`.
//
// Not thread-safe: one tracker per direction per tunnel, used by the code
// that reads that direction. Never throws, except std::bad_alloc from `out`
// and ping_frame()'s precondition.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace basalt::proxy {

class WebSocketFrameTracker {
 public:
  static constexpr std::size_t kMaxHeaderBytes = 14;      // 2 + 8 (64-bit length) + 4 (mask key)
  static constexpr std::size_t kMaxControlPayload = 125;  // RFC 6455 §5.5
  static constexpr std::size_t kMaxBuffered = kMaxHeaderBytes + kMaxControlPayload;

  enum class Error {
    kNone,
    kBadMask,            // mask bit set from a server, or clear from a client (§5.1)
    kReservedOpcode,     // opcode 3-7 or 0xB-0xF (§5.2)
    kFragmentedControl,  // Close/Ping/Pong with FIN = 0 (§5.5)
    kControlTooLong,     // Close/Ping/Pong payload over 125 bytes (§5.5)
    kLengthTooLarge,     // 64-bit payload length with the top bit set (§5.2)
    kBadContinuation,    // continuation with no message open, or a new message inside one (§5.4)
  };

  struct Result {
    Error error = Error::kNone;
    bool pong_seen = false;   // this call swallowed the Pong carrying the expected token
    bool close_seen = false;  // this call passed the header of a Close frame: stop pinging
    bool ok() const noexcept { return error == Error::kNone; }
  };

  // `masked_input`: these bytes come from a client (client -> backend).
  explicit WebSocketFrameTracker(bool masked_input) noexcept : masked_input_(masked_input) {}

  // Feeds the next bytes read from the peer, split anywhere. Appends to `out`
  // the bytes to forward: `in` minus the swallowed Pong, minus the start of a
  // frame header (or of a Pong that may carry the token) that is not complete
  // yet; those bytes are kept and forwarded by a later call. The flags say
  // what happened during this call. After an error, the bytes of the bad
  // frame are not forwarded, and every later call returns the same error and
  // appends nothing.
  Result feed(std::span<const std::uint8_t> in, std::string& out);

  // The bytes appended to `out` so far end where a frame ends (or nothing was
  // forwarded yet): a frame may be written to the same peer now.
  bool at_frame_boundary() const noexcept { return phase_ != Phase::kPayload; }

  // The proxy just sent a Ping with payload `token` to the peer whose bytes
  // this tracker reads. The next Pong from it with exactly that payload is
  // swallowed and reported once (pong_seen); other Pongs pass. A later call
  // replaces the token. A token over 125 bytes can never match.
  void expect_pong(std::string token);
  bool expecting_pong() const noexcept { return expecting_; }

  // Bytes fed but not yet forwarded (an incomplete header, or a Pong being
  // held for comparison with the token). Never more than kMaxBuffered.
  std::size_t buffered() const noexcept { return held_size_; }
  Error error() const noexcept { return error_; }

  // A single-frame Ping carrying `token` (at most 125 bytes; longer throws
  // std::invalid_argument). `masked`: towards a backend the proxy speaks as a
  // client and masks with `mask_key` (use fresh random bytes, §5.3); towards
  // a client it must not mask.
  static std::string ping_frame(std::string_view token, bool masked, std::array<std::uint8_t, 4> mask_key);
  // A Close frame with a status code and a reason (at most 123 bytes).
  static std::string close_frame(std::uint16_t code, std::string_view reason, bool masked,
                                 std::array<std::uint8_t, 4> mask_key);

  // A short English name for logs ("bad mask bit", ...).
  static std::string_view describe(Error error) noexcept;

 private:
  enum class Phase {
    kHeader,    // between frames; held_ has the first held_size_ bytes of the next header
    kPayload,   // header forwarded, payload_left_ payload bytes still to pass through
    kHeldPong,  // a Pong the size of the token: header and payload so far in held_
  };

  Error check_first_byte(std::uint8_t b) const noexcept;
  Error check_second_byte(std::uint8_t b) const noexcept;
  void start_frame(std::string& out, Result& result);
  void finish_held_pong(std::string& out, Result& result);

  bool masked_input_;
  Phase phase_ = Phase::kHeader;
  Error error_ = Error::kNone;
  bool in_message_ = false;  // a text/binary message with FIN = 0 is open
  bool expecting_ = false;
  std::string token_;
  std::size_t header_size_ = 0;  // once the second byte is in: the whole header's size
  std::uint64_t payload_left_ = 0;
  std::array<std::uint8_t, kMaxBuffered> held_{};
  std::size_t held_size_ = 0;
};

}  // namespace basalt::proxy
