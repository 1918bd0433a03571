#include "http/websocket_frames.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::proxy {
namespace {

using Tracker = WebSocketFrameTracker;
using Error = WebSocketFrameTracker::Error;

constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kContinuation = 0x0;
constexpr std::uint8_t kClose = 0x8;
constexpr std::uint8_t kPing = 0x9;
constexpr std::uint8_t kPong = 0xa;

enum class LengthForm { kMinimal, k16, k64 };

struct Frame {
  std::uint8_t opcode = kBinary;
  bool fin = true;
  std::string payload;
  LengthForm form = LengthForm::kMinimal;
  std::array<std::uint8_t, 4> key{0x12, 0x34, 0x56, 0x78};
  std::uint8_t rsv = 0;  // RSV1-3 bits as they sit in the first byte
};

// RFC 6455 §5.2 framing, written independently of the code under test.
std::string encode(const Frame& f, bool masked) {
  std::string out;
  out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | f.rsv | f.opcode));
  const std::uint64_t n = f.payload.size();
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  LengthForm form = f.form;
  if (form == LengthForm::kMinimal)
    form = n < 126 ? LengthForm::kMinimal : n < 65536 ? LengthForm::k16 : LengthForm::k64;
  if (form == LengthForm::kMinimal) {
    out.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (form == LengthForm::k16) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  if (masked) {
    for (auto k : f.key) out.push_back(static_cast<char>(k));
  }
  for (std::size_t i = 0; i < f.payload.size(); ++i) {
    out.push_back(masked ? static_cast<char>(f.payload[i] ^ f.key[i % 4]) : f.payload[i]);
  }
  return out;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string random_payload(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::size_t random_data_length(std::mt19937& rng) {
  switch (rng() % 10) {
    case 0:
      return 0;
    case 1: {
      constexpr std::size_t kEdges[] = {125, 126, 127, 65535, 65536, 70000};
      return kEdges[rng() % std::size(kEdges)];
    }
    case 2:
      return rng() % 3000;
    default:
      return rng() % 140;
  }
}

// A valid frame sequence: messages, some fragmented, with control frames
// anywhere between frames (also between fragments), lengths in every form.
std::vector<Frame> random_frames(std::mt19937& rng, std::size_t count) {
  std::vector<Frame> frames;
  bool in_message = false;
  for (std::size_t i = 0; i < count; ++i) {
    Frame f;
    for (auto& k : f.key) k = static_cast<std::uint8_t>(rng());
    if (rng() % 8 == 0) f.rsv = static_cast<std::uint8_t>((rng() % 8) << 4);
    if (rng() % 3 == 0) {
      constexpr std::uint8_t kControls[] = {kPing, kPong, kClose};
      f.opcode = kControls[rng() % 3];
      f.rsv = 0;
      f.payload = random_payload(rng, rng() % 4 == 0 ? 125 : rng() % 20);
    } else {
      f.opcode = in_message ? kContinuation : (rng() % 2 ? kText : kBinary);
      f.fin = rng() % 3 != 0;
      in_message = !f.fin;
      f.payload = random_payload(rng, random_data_length(rng));
    }
    const auto form_pick = rng() % 6;
    if (form_pick == 0 && f.payload.size() < 65536) f.form = LengthForm::k16;
    if (form_pick == 1) f.form = LengthForm::k64;
    if (f.opcode >= kClose) f.form = LengthForm::kMinimal;  // control frames: 7-bit length only
    frames.push_back(std::move(f));
  }
  return frames;
}

// A text/binary message with FIN = 0 is still open at the end of `frames`.
bool message_open(const std::vector<Frame>& frames) {
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    if (it->opcode < kClose) return !it->fin;
  }
  return false;
}

// Feeds `stream` in random chunks of 1..max_chunk bytes, checking after every
// call that the output is a prefix of `expected` and that at_frame_boundary()
// is true exactly when it ends at one of `ends`.
struct FeedOutcome {
  std::string out;
  int pongs = 0;
  int closes = 0;
  std::size_t max_buffered = 0;
};
FeedOutcome feed_in_chunks(Tracker& tracker, std::string_view stream, std::string_view expected,
                           const std::set<std::size_t>& ends, std::mt19937& rng, std::size_t max_chunk) {
  FeedOutcome outcome;
  std::size_t pos = 0;
  std::size_t checked = 0;
  EXPECT_TRUE(tracker.at_frame_boundary());
  while (pos < stream.size()) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % max_chunk, stream.size() - pos);
    const auto result = tracker.feed(bytes(stream.substr(pos, n)), outcome.out);
    pos += n;
    EXPECT_TRUE(result.ok()) << Tracker::describe(result.error);
    if (!result.ok()) break;
    outcome.pongs += result.pong_seen;
    outcome.closes += result.close_seen;
    outcome.max_buffered = std::max(outcome.max_buffered, tracker.buffered());
    // Only the bytes this call appended: the earlier ones were checked already.
    EXPECT_EQ(expected.substr(checked, outcome.out.size() - checked),
              std::string_view(outcome.out).substr(checked))
        << "at input offset " << pos;
    checked = outcome.out.size();
    EXPECT_EQ(ends.contains(outcome.out.size()), tracker.at_frame_boundary())
        << "output " << outcome.out.size() << " bytes, input offset " << pos;
    if (::testing::Test::HasFailure()) break;
  }
  return outcome;
}

TEST(WebSocketFrameTracker, PassesRandomFrameSequencesUnchangedInAnyChunking) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 300 && !::testing::Test::HasFailure(); ++round) {
    const bool masked = round % 2 == 0;
    const auto frames = random_frames(rng, 1 + rng() % 40);
    std::string stream;
    std::set<std::size_t> ends{0};
    int closes = 0;
    for (const auto& f : frames) {
      stream += encode(f, masked);
      ends.insert(stream.size());
      closes += f.opcode == kClose;
    }
    constexpr std::size_t kMaxChunks[] = {1, 3, 16, 200, 5000, 1 << 20};
    const std::size_t max_chunk = kMaxChunks[round % std::size(kMaxChunks)];
    SCOPED_TRACE("round " + std::to_string(round) + ", masked " + std::to_string(masked) + ", chunks up to " +
                 std::to_string(max_chunk));

    Tracker tracker(masked);
    const auto outcome = feed_in_chunks(tracker, stream, stream, ends, rng, max_chunk);
    EXPECT_EQ(stream, outcome.out);
    EXPECT_EQ(0, outcome.pongs);
    // close_seen is per call: a call may pass several Close frames.
    EXPECT_EQ(closes > 0, outcome.closes > 0);
    EXPECT_LE(outcome.closes, closes);
    EXPECT_LE(outcome.max_buffered, Tracker::kMaxHeaderBytes);
    EXPECT_EQ(0u, tracker.buffered());
    EXPECT_TRUE(tracker.at_frame_boundary());
  }
}

TEST(WebSocketFrameTracker, SwallowsOnlyThePongCarryingTheTokenInAnyChunking) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300 && !::testing::Test::HasFailure(); ++round) {
    const bool masked = round % 2 == 1;
    const std::string token = random_payload(rng, 1 + rng() % 16);
    auto frames = random_frames(rng, rng() % 20);
    // Decoys that must pass: same length, another payload; the token plus one
    // byte; the token as a Ping; the token as a text message.
    std::string other = token;
    other[rng() % other.size()] ^= 0x01;
    const std::vector<Frame> decoys{{.opcode = kPong, .payload = other},
                                    {.opcode = kPong, .payload = token + "x"},
                                    {.opcode = kPing, .payload = token},
                                    {.opcode = kText, .payload = token}};
    // Control frames may go between any two frames; the text message goes
    // after the last one, once any fragmented message is finished.
    for (const auto& decoy : decoys) {
      if (decoy.opcode == kText) {
        if (message_open(frames)) frames.push_back({.opcode = kContinuation, .payload = "end"});
        frames.push_back(decoy);
      } else {
        frames.insert(frames.begin() + static_cast<std::ptrdiff_t>(rng() % (frames.size() + 1)), decoy);
      }
    }
    const auto pong_at = rng() % (frames.size() + 1);

    std::string stream, expected;
    std::set<std::size_t> ends{0};
    for (std::size_t i = 0; i <= frames.size(); ++i) {
      if (i == pong_at) {
        Frame pong{.opcode = kPong, .payload = token};
        for (auto& k : pong.key) k = static_cast<std::uint8_t>(rng());
        stream += encode(pong, masked);
      }
      if (i == frames.size()) break;
      const auto frame = encode(frames[i], masked);
      stream += frame;
      expected += frame;
      ends.insert(expected.size());
    }
    // Once the token's Pong is through, a second one with the same token passes.
    const std::string second_pong = encode(Frame{.opcode = kPong, .payload = token}, masked);
    stream += second_pong;
    expected += second_pong;
    ends.insert(expected.size());

    constexpr std::size_t kMaxChunks[] = {1, 2, 9, 64, 100000};
    const std::size_t max_chunk = kMaxChunks[round % std::size(kMaxChunks)];
    SCOPED_TRACE("round " + std::to_string(round) + ", masked " + std::to_string(masked) + ", chunks up to " +
                 std::to_string(max_chunk));

    Tracker tracker(masked);
    tracker.expect_pong(token);
    const auto outcome = feed_in_chunks(tracker, stream, expected, ends, rng, max_chunk);
    EXPECT_EQ(expected, outcome.out);
    EXPECT_EQ(1, outcome.pongs);
    EXPECT_FALSE(tracker.expecting_pong());
    EXPECT_LE(outcome.max_buffered, Tracker::kMaxBuffered);
    EXPECT_EQ(0u, tracker.buffered());
  }
}

TEST(WebSocketFrameTracker, PongWithTokenIsSwallowedAndFlaggedOnce) {
  const std::string token = "\x01\x02\x03\x04\x05\x06\x07\x08";
  for (const bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "masked" : "unmasked");
    Tracker tracker(masked);
    tracker.expect_pong(token);
    const std::string hello = encode({.opcode = kText, .payload = "hello"}, masked);
    const std::string pong =
        encode({.opcode = kPong, .payload = token, .key = {0xde, 0xad, 0xbe, 0xef}}, masked);
    std::string out;
    auto r = tracker.feed(bytes(hello + pong + hello), out);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.pong_seen);
    EXPECT_FALSE(r.close_seen);
    EXPECT_EQ(hello + hello, out);

    // The token answers one ping only.
    out.clear();
    r = tracker.feed(bytes(pong), out);
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r.pong_seen);
    EXPECT_EQ(pong, out);
  }
}

TEST(WebSocketFrameTracker, PongWithAnotherPayloadPasses) {
  Tracker tracker(false);
  tracker.expect_pong("abcdefgh");
  // An unsolicited Pong (RFC 6455 §5.5.3 allows them) and one echoing some
  // other ping, with the token's length.
  const std::string empty_pong = encode({.opcode = kPong}, false);
  const std::string other_pong = encode({.opcode = kPong, .payload = "abcdefgX"}, false);
  std::string out;
  auto r = tracker.feed(bytes(empty_pong + other_pong), out);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.pong_seen);
  EXPECT_EQ(empty_pong + other_pong, out);
  EXPECT_TRUE(tracker.expecting_pong());
}

TEST(WebSocketFrameTracker, MaskedPongIsComparedUnmasked) {
  // The masked bytes of the payload happen to equal the token: must pass.
  const std::string token = "pingpong";
  Frame f{.opcode = kPong, .payload = token, .key = {1, 2, 3, 4}};
  std::string masked_pong = encode(f, true);
  Tracker tracker(true);
  tracker.expect_pong(masked_pong.substr(6));
  std::string out;
  auto r = tracker.feed(bytes(masked_pong), out);
  EXPECT_FALSE(r.pong_seen);
  EXPECT_EQ(masked_pong, out);

  tracker.expect_pong(token);
  out.clear();
  r = tracker.feed(bytes(masked_pong), out);
  EXPECT_TRUE(r.pong_seen);
  EXPECT_EQ("", out);
}

TEST(WebSocketFrameTracker, HeldPongKeepsTheStreamAtAFrameBoundary) {
  // While the token's Pong is half in, nothing of it has been forwarded: the
  // proxy may write its next Ping to this side without cutting a frame.
  const std::string token = "12345678";
  Tracker tracker(false);
  tracker.expect_pong(token);
  const std::string pong = encode({.opcode = kPong, .payload = token}, false);
  std::string out;
  auto r = tracker.feed(bytes(std::string_view(pong).substr(0, 5)), out);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.pong_seen);
  EXPECT_EQ("", out);
  EXPECT_EQ(5u, tracker.buffered());
  EXPECT_TRUE(tracker.at_frame_boundary());
  r = tracker.feed(bytes(std::string_view(pong).substr(5)), out);
  EXPECT_TRUE(r.pong_seen);
  EXPECT_EQ(0u, tracker.buffered());
}

TEST(WebSocketFrameTracker, ControlFramesBetweenFragmentsAreBoundaries) {
  const std::string token = "tok";
  const std::string first = encode({.opcode = kText, .fin = false, .payload = "frag"}, true);
  const std::string ping = encode({.opcode = kPing, .payload = "peer"}, true);
  const std::string pong = encode({.opcode = kPong, .payload = token}, true);
  const std::string middle = encode({.opcode = kContinuation, .fin = false, .payload = "ment"}, true);
  const std::string last = encode({.opcode = kContinuation, .fin = true, .payload = "ed"}, true);
  Tracker tracker(true);
  tracker.expect_pong(token);
  std::string out;
  for (const auto* part : {&first, &ping, &pong, &middle, &last}) {
    const auto r = tracker.feed(bytes(*part), out);
    EXPECT_TRUE(r.ok()) << Tracker::describe(r.error);
    EXPECT_EQ(part == &pong, r.pong_seen);
    EXPECT_TRUE(tracker.at_frame_boundary());
  }
  EXPECT_EQ(first + ping + middle + last, out);
}

TEST(WebSocketFrameTracker, ZeroLengthFramesAndAllLengthForms) {
  for (const bool masked : {false, true}) {
    std::string stream;
    for (auto form : {LengthForm::kMinimal, LengthForm::k16, LengthForm::k64}) {
      stream += encode({.opcode = kBinary, .form = form}, masked);
      stream += encode({.opcode = kBinary,
                        .payload = std::string(300, 'a'),
                        .form = form == LengthForm::kMinimal ? LengthForm::k16 : form},
                       masked);
    }
    stream += encode({.opcode = kPing}, masked);
    Tracker tracker(masked);
    std::string out;
    // One byte at a time: every header is split at every point.
    for (std::size_t i = 0; i < stream.size(); ++i) {
      ASSERT_TRUE(tracker.feed(bytes(std::string_view(stream).substr(i, 1)), out).ok()) << "byte " << i;
    }
    EXPECT_EQ(stream, out);
    EXPECT_TRUE(tracker.at_frame_boundary());
  }
}

TEST(WebSocketFrameTracker, CloseIsFlagged) {
  Tracker tracker(false);
  const std::string close = encode({.opcode = kClose, .payload = std::string("\x03\xe8", 2)}, false);
  std::string out;
  auto r = tracker.feed(bytes(std::string_view(close).substr(0, 1)), out);
  EXPECT_FALSE(r.close_seen);
  r = tracker.feed(bytes(std::string_view(close).substr(1)), out);
  EXPECT_TRUE(r.close_seen);
  EXPECT_EQ(close, out);
}

struct BadStream {
  std::string name;
  bool masked_input;
  std::string bad_frame;
  Error error;
};

std::vector<BadStream> bad_streams() {
  std::vector<BadStream> cases{
      {"client frame unmasked", true, encode({.opcode = kText, .payload = "hi"}, false), Error::kBadMask},
      {"server frame masked", false, encode({.opcode = kText, .payload = "hi"}, true), Error::kBadMask},
      {"ping with FIN=0", false, encode({.opcode = kPing, .fin = false}, false), Error::kFragmentedControl},
      {"close with 126 bytes", false, encode({.opcode = kClose, .payload = std::string(126, 'c')}, false),
       Error::kControlTooLong},
      {"pong with a 16-bit length", true,
       encode({.opcode = kPong, .payload = "x", .form = LengthForm::k16}, true), Error::kControlTooLong},
      {"continuation with no message", false, encode({.opcode = kContinuation, .payload = "x"}, false),
       Error::kBadContinuation},
  };
  for (std::uint8_t op : {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    cases.push_back({"opcode " + std::to_string(op), false, encode({.opcode = op, .payload = "x"}, false),
                     Error::kReservedOpcode});
  }
  std::string huge("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10);
  cases.push_back({"64-bit length with the top bit", false, huge, Error::kLengthTooLarge});
  // A new message while a fragmented one is open.
  cases.push_back({"text inside a fragmented message", true,
                   encode({.opcode = kText, .fin = false, .payload = "a"}, true) +
                       encode({.opcode = kText, .payload = "b"}, true),
                   Error::kBadContinuation});
  return cases;
}

TEST(WebSocketFrameTracker, ProtocolErrorsAreNamedAndStopTheStream) {
  for (const auto& c : bad_streams()) {
    SCOPED_TRACE(c.name);
    for (const bool one_byte_at_a_time : {false, true}) {
      const std::string good = encode({.opcode = kBinary, .payload = "ok"}, c.masked_input);
      const std::string stream = good + c.bad_frame + good;
      Tracker tracker(c.masked_input);
      std::string out;
      WebSocketFrameTracker::Result r;
      const std::size_t step = one_byte_at_a_time ? 1 : stream.size();
      for (std::size_t i = 0; i < stream.size() && r.ok(); i += step) {
        r = tracker.feed(bytes(std::string_view(stream).substr(i, step)), out);
      }
      EXPECT_EQ(c.error, r.error) << Tracker::describe(r.error);
      EXPECT_EQ(c.error, tracker.error());
      EXPECT_NE("no error", Tracker::describe(r.error));
      // What came before the bad frame was forwarded; nothing of it or after it.
      if (c.name.starts_with("text inside")) {
        EXPECT_EQ(good + encode({.opcode = kText, .fin = false, .payload = "a"}, true), out);
      } else {
        EXPECT_EQ(good, out);
      }
      EXPECT_EQ(0u, tracker.buffered());
      const auto before = out.size();
      EXPECT_EQ(c.error, tracker.feed(bytes(good), out).error);
      EXPECT_EQ(before, out.size());
    }
  }
}

TEST(WebSocketFrameTracker, LargeDataFrameIsStreamedNotBuffered) {
  constexpr std::size_t kSize = 10 * 1024 * 1024;
  for (const bool masked : {false, true}) {
    for (const std::size_t piece : {std::size_t{1}, std::size_t{64 * 1024}}) {
      SCOPED_TRACE(std::string(masked ? "masked" : "unmasked") + ", pieces of " + std::to_string(piece));
      std::string payload(kSize, '\0');
      for (std::size_t i = 0; i < kSize; ++i) payload[i] = static_cast<char>(i * 7 + (i >> 13));
      Frame f{.opcode = kBinary, .payload = std::move(payload)};
      const std::string stream = encode(f, masked) + encode({.opcode = kPing, .payload = "after"}, masked);
      Tracker tracker(masked);
      tracker.expect_pong("some token");
      std::string out;
      std::size_t max_buffered = 0;
      std::size_t mismatches = 0;
      std::size_t forwarded = 0;
      for (std::size_t pos = 0; pos < stream.size(); pos += piece) {
        const auto chunk = std::string_view(stream).substr(pos, piece);
        out.clear();
        const auto r = tracker.feed(bytes(chunk), out);
        if (!r.ok()) FAIL() << Tracker::describe(r.error);
        max_buffered = std::max(max_buffered, tracker.buffered());
        // Every byte goes out in the call it came in, except a header still
        // incomplete.
        if (out != std::string_view(stream).substr(forwarded, out.size())) ++mismatches;
        forwarded += out.size();
        if (forwarded + tracker.buffered() != pos + chunk.size()) ++mismatches;
      }
      EXPECT_EQ(0u, mismatches);
      EXPECT_EQ(stream.size(), forwarded);
      EXPECT_LE(max_buffered, Tracker::kMaxHeaderBytes);
      if (piece == 1) {
        EXPECT_GT(max_buffered, 0u);  // the headers did come in pieces
      }
    }
  }
}

TEST(WebSocketFrameTracker, PingFrameIsReadBackAsAPing) {
  const std::string token("\x00\xff\x10\x80\x7f\x01\x02\x03", 8);
  const std::array<std::uint8_t, 4> key{0xa1, 0xb2, 0xc3, 0xd4};
  for (const bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "masked" : "unmasked");
    const std::string ping = Tracker::ping_frame(token, masked, key);
    // Byte for byte what an independent encoder writes for a FIN Ping.
    EXPECT_EQ(encode({.opcode = kPing, .payload = token, .key = key}, masked), ping);

    // The tracker on that direction passes it as one whole frame...
    Tracker tracker(masked);
    std::string out;
    auto r = tracker.feed(bytes(ping), out);
    EXPECT_TRUE(r.ok()) << Tracker::describe(r.error);
    EXPECT_EQ(ping, out);
    EXPECT_TRUE(tracker.at_frame_boundary());
    // ...and the same frame as the peer's Pong (opcode 0xA, payload echoed)
    // is recognised as carrying the token, so length, mask key and payload
    // were all read as the tracker reads them.
    std::string pong = ping;
    pong[0] = static_cast<char>(0x80 | kPong);
    tracker.expect_pong(token);
    out.clear();
    r = tracker.feed(bytes(pong), out);
    EXPECT_TRUE(r.pong_seen);
    EXPECT_EQ("", out);

    // The wrong direction is a mask violation.
    Tracker other(!masked);
    EXPECT_EQ(Error::kBadMask, other.feed(bytes(ping), out).error);
  }
  EXPECT_EQ(2u, Tracker::ping_frame("", false, key).size());
  EXPECT_EQ(2u + 4 + 125, Tracker::ping_frame(std::string(125, 'p'), true, key).size());
  EXPECT_THROW(Tracker::ping_frame(std::string(126, 'p'), false, key), std::invalid_argument);
}

}  // namespace
}  // namespace basalt::proxy
