// WebSocketFrameTracker (websocket_frames.hpp).
#include "http/websocket_frames.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace basalt::proxy {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kOpcodeMask = 0x0f;
constexpr std::uint8_t kOpContinuation = 0x0;
constexpr std::uint8_t kOpText = 0x1;
constexpr std::uint8_t kOpBinary = 0x2;
constexpr std::uint8_t kOpClose = 0x8;
constexpr std::uint8_t kOpPing = 0x9;
constexpr std::uint8_t kOpPong = 0xa;

bool is_control(std::uint8_t opcode) {
  return (opcode & 0x8) != 0;
}

}  // namespace

WebSocketFrameTracker::Error WebSocketFrameTracker::check_first_byte(std::uint8_t b) const noexcept {
  const std::uint8_t opcode = b & kOpcodeMask;
  if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb) return Error::kReservedOpcode;
  if (is_control(opcode) && (b & kFin) == 0) return Error::kFragmentedControl;
  if (opcode == kOpContinuation && !in_message_) return Error::kBadContinuation;
  if ((opcode == kOpText || opcode == kOpBinary) && in_message_) return Error::kBadContinuation;
  return Error::kNone;
}

WebSocketFrameTracker::Error WebSocketFrameTracker::check_second_byte(std::uint8_t b) const noexcept {
  if (((b & kMaskBit) != 0) != masked_input_) return Error::kBadMask;
  if (is_control(held_[0] & kOpcodeMask) && (b & 0x7f) > kMaxControlPayload) return Error::kControlTooLong;
  return Error::kNone;
}

WebSocketFrameTracker::Result WebSocketFrameTracker::feed(std::span<const std::uint8_t> in,
                                                          std::string& out) {
  Result result;
  std::size_t pos = 0;
  while (error_ == Error::kNone && pos < in.size()) {
    switch (phase_) {
      case Phase::kHeader: {
        // Header bytes are held until the header is complete: whether the
        // frame is forwarded (and whether it is valid) depends on all of it,
        // and holding them keeps the forwarded bytes on a frame boundary.
        const std::uint8_t b = in[pos++];
        held_[held_size_++] = b;
        if (held_size_ == 1) {
          error_ = check_first_byte(b);
        } else if (held_size_ == 2) {
          error_ = check_second_byte(b);
          const std::uint8_t len7 = b & 0x7f;
          header_size_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked_input_ ? 4 : 0);
        } else if (held_size_ == 3 && (held_[1] & 0x7f) == 127 && (b & 0x80) != 0) {
          error_ = Error::kLengthTooLarge;
        }
        if (error_ == Error::kNone && held_size_ >= 2 && held_size_ == header_size_) start_frame(out, result);
        break;
      }
      case Phase::kPayload: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, in.size() - pos));
        out.append(reinterpret_cast<const char*>(in.data() + pos), n);
        pos += n;
        payload_left_ -= n;
        if (payload_left_ == 0) phase_ = Phase::kHeader;
        break;
      }
      case Phase::kHeldPong: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, in.size() - pos));
        std::copy_n(in.data() + pos, n, held_.data() + held_size_);
        held_size_ += n;
        pos += n;
        payload_left_ -= n;
        if (payload_left_ == 0) finish_held_pong(out, result);
        break;
      }
    }
  }
  if (error_ != Error::kNone) held_size_ = 0;  // the bad frame is dropped, never forwarded
  result.error = error_;
  return result;
}

void WebSocketFrameTracker::start_frame(std::string& out, Result& result) {
  const bool fin = (held_[0] & kFin) != 0;
  const std::uint8_t opcode = held_[0] & kOpcodeMask;
  std::uint64_t length = held_[1] & 0x7f;
  if (length == 126) {
    length = (std::uint64_t{held_[2]} << 8) | held_[3];
  } else if (length == 127) {
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | held_[i];
  }

  if (!is_control(opcode)) in_message_ = !fin;
  if (opcode == kOpClose) result.close_seen = true;

  if (opcode == kOpPong && expecting_ && length == token_.size()) {
    phase_ = Phase::kHeldPong;
    payload_left_ = length;
    if (length == 0) finish_held_pong(out, result);
    return;
  }
  out.append(reinterpret_cast<const char*>(held_.data()), held_size_);
  held_size_ = 0;
  payload_left_ = length;
  phase_ = length == 0 ? Phase::kHeader : Phase::kPayload;
}

void WebSocketFrameTracker::finish_held_pong(std::string& out, Result& result) {
  const bool masked = (held_[1] & kMaskBit) != 0;
  const std::uint8_t* key = masked ? held_.data() + header_size_ - 4 : nullptr;
  const std::uint8_t* payload = held_.data() + header_size_;
  const std::size_t length = held_size_ - header_size_;
  bool match = length == token_.size();
  for (std::size_t i = 0; match && i < length; ++i) {
    const std::uint8_t b = masked ? static_cast<std::uint8_t>(payload[i] ^ key[i % 4]) : payload[i];
    match = b == static_cast<std::uint8_t>(token_[i]);
  }
  if (match) {
    result.pong_seen = true;
    expecting_ = false;
    token_.clear();
  } else {
    out.append(reinterpret_cast<const char*>(held_.data()), held_size_);
  }
  held_size_ = 0;
  phase_ = Phase::kHeader;
}

void WebSocketFrameTracker::expect_pong(std::string token) {
  token_ = std::move(token);
  expecting_ = true;
}

namespace {

std::string control_frame(std::uint8_t opcode, std::string_view payload, bool masked,
                          std::array<std::uint8_t, 4> mask_key) {
  std::string frame;
  frame.reserve(2 + 4 + payload.size());
  frame.push_back(static_cast<char>(kFin | opcode));
  frame.push_back(static_cast<char>((masked ? kMaskBit : 0) | payload.size()));
  if (masked) {
    for (std::uint8_t k : mask_key) frame.push_back(static_cast<char>(k));
  }
  for (std::size_t i = 0; i < payload.size(); ++i) {
    const auto b = static_cast<std::uint8_t>(payload[i]);
    frame.push_back(static_cast<char>(masked ? b ^ mask_key[i % 4] : b));
  }
  return frame;
}

}  // namespace

std::string WebSocketFrameTracker::close_frame(std::uint16_t code, std::string_view reason, bool masked,
                                               std::array<std::uint8_t, 4> mask_key) {
  if (reason.size() > kMaxControlPayload - 2) {
    throw std::invalid_argument("WebSocket close reason longer than 123 bytes");
  }
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload += reason;
  return control_frame(kOpClose, payload, masked, mask_key);
}

std::string WebSocketFrameTracker::ping_frame(std::string_view token, bool masked,
                                              std::array<std::uint8_t, 4> mask_key) {
  if (token.size() > kMaxControlPayload) {
    throw std::invalid_argument("WebSocket ping token longer than 125 bytes");
  }
  return control_frame(kOpPing, token, masked, mask_key);
}

std::string_view WebSocketFrameTracker::describe(Error error) noexcept {
  switch (error) {
    case Error::kNone:
      return "no error";
    case Error::kBadMask:
      return "bad mask bit";
    case Error::kReservedOpcode:
      return "reserved opcode";
    case Error::kFragmentedControl:
      return "fragmented control frame";
    case Error::kControlTooLong:
      return "control frame payload over 125 bytes";
    case Error::kLengthTooLarge:
      return "64-bit payload length with the top bit set";
    case Error::kBadContinuation:
      return "continuation frame out of sequence";
  }
  return "unknown error";
}

}  // namespace basalt::proxy
