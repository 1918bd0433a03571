#include "h2_server_protocol.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <set>

namespace basalt::http {
namespace {

// An nghttp2 client session wired to the protocol in memory.
struct Client {
  nghttp2_session* s = nullptr;
  std::map<std::int32_t, std::pair<int, std::string>> responses;  // status, body
  std::map<std::int32_t, std::uint32_t> resets;
  std::optional<std::uint32_t> goaway;

  Client() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n, std::size_t nl,
                const std::uint8_t* v, std::size_t vl, std::uint8_t, void* u) {
          if (std::string_view(reinterpret_cast<const char*>(n), nl) == ":status") {
            static_cast<Client*>(u)->responses[f->hd.stream_id].first =
                std::stoi(std::string(reinterpret_cast<const char*>(v), vl));
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs,
        [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d, std::size_t l, void* u) {
          static_cast<Client*>(u)->responses[id].second.append(reinterpret_cast<const char*>(d), l);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
          auto* c = static_cast<Client*>(u);
          if (f->hd.type == NGHTTP2_GOAWAY) c->goaway = f->goaway.error_code;
          if (f->hd.type == NGHTTP2_RST_STREAM) c->resets[f->hd.stream_id] = f->rst_stream.error_code;
          return 0;
        });
    nghttp2_session_client_new(&s, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(s); }

  std::int32_t get(const std::string& path, std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", "GET"}, {":scheme", "https"}, {":authority", "example"}, {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : h) {
      nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nghttp2_submit_request(s, nullptr, nva.data(), nva.size(), nullptr, nullptr);
  }

  // Moves bytes both ways until both sides are quiet.
  void pump(H2ServerProtocol& server) {
    for (int round = 0; round < 100; ++round) {
      bool moved = false;
      const std::uint8_t* data;
      for (ssize_t n; (n = nghttp2_session_mem_send(s, &data)) > 0;) {
        server.receive({data, static_cast<std::size_t>(n)});
        moved = true;
      }
      for (auto out = server.next_output(); !out.empty(); out = server.next_output()) {
        nghttp2_session_mem_recv(s, out.data(), out.size());
        moved = true;
      }
      if (!moved) return;
    }
  }
};

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string f;
  auto n = payload.size();
  f += {static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n), static_cast<char>(type),
        static_cast<char>(flags)};
  f += {static_cast<char>(stream >> 24), static_cast<char>(stream >> 16), static_cast<char>(stream >> 8),
        static_cast<char>(stream)};
  f.append(payload);
  return f;
}

// The error code of the first GOAWAY in `wire`, if any.
std::optional<std::uint32_t> goaway_in(const std::string& wire) {
  for (std::size_t i = 0; i + 9 <= wire.size();) {
    auto u = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(wire[k])); };
    std::size_t len = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    if (u(i + 3) == NGHTTP2_GOAWAY)
      return (u(i + 13) << 24) | (u(i + 14) << 16) | (u(i + 15) << 8) | u(i + 16);
    i += 9 + len;
  }
  return std::nullopt;
}

std::string drain(H2ServerProtocol& p) {
  std::string out;
  for (auto o = p.next_output(); !o.empty(); o = p.next_output())
    out.append(reinterpret_cast<const char*>(o.data()), o.size());
  return out;
}

struct H2ServerProtocolTest : ::testing::Test {
  Limits limits;
  Stats stats;
  core::Endpoint remote{core::IpAddress::v4_loopback(), 1234};
};

TEST_F(H2ServerProtocolTest, RequestAndResponseRoundTrip) {
  H2ServerProtocol server(limits, stats, remote, true);
  Client c;
  auto id = c.get("/q?x=1", {{"x-a", "b"}});
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  auto& [sid, req] = requests[0];
  EXPECT_EQ(sid, id);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/q");
  EXPECT_EQ(req.query_param("x").value_or(""), "1");
  EXPECT_EQ(req.authority, "example");
  EXPECT_EQ(req.scheme, "https");
  EXPECT_EQ(req.headers.get("X-A").value_or(""), "b");
  EXPECT_EQ(req.version, Version::http2);
  EXPECT_EQ(req.remote, remote);
  Response resp(201, std::string(100000, 'z'));
  resp.headers.add("X-Upper", "kept");
  server.respond(sid, std::move(resp), false);
  c.pump(server);
  EXPECT_EQ(c.responses[id].first, 201);
  EXPECT_EQ(c.responses[id].second.size(), 100000u);
  EXPECT_EQ(stats.snapshot().requests_http2, 1u);
}

TEST_F(H2ServerProtocolTest, OversizedHeaderListGets431) {
  limits.max_header_bytes = 1024;
  H2ServerProtocol server(limits, stats, remote, true);
  Client c;
  auto id = c.get("/", {{"x-big", std::string(2000, 'a')}});
  c.pump(server);
  EXPECT_TRUE(server.take_requests().empty());
  EXPECT_EQ(c.responses[id].first, 431);
  EXPECT_EQ(stats.snapshot().header_too_large, 1u);
}

TEST_F(H2ServerProtocolTest, FloodsEndInEnhanceYourCalm) {
  struct Case {
    std::string name;
    std::string frames;
    std::uint64_t StatsSnapshot::*counter;
  };
  std::string settings, pings, resets, empties;
  for (int i = 0; i < 200; ++i) {
    settings += frame(NGHTTP2_SETTINGS, 0, 0, "");
    pings += frame(NGHTTP2_PING, 0, 0, "12345678");
    resets += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 2 * i + 1,
                    std::string("\x82\x87\x84\x41\x01x", 6));
    resets += frame(NGHTTP2_RST_STREAM, 0, 2 * i + 1, std::string("\0\0\0\x08", 4));
    empties += frame(NGHTTP2_DATA, 0, 1, "");
  }
  std::string open_post =
      frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, std::string("\x83\x87\x84\x41\x01x", 6));
  std::vector<Case> cases = {
      {"settings", settings, &StatsSnapshot::h2_settings_floods},
      {"ping", pings, &StatsSnapshot::h2_ping_floods},
      {"rapid reset", resets, &StatsSnapshot::h2_rapid_resets},
      {"empty data", open_post + empties, &StatsSnapshot::h2_empty_frame_floods},
  };
  limits.max_resets_per_window = 100;
  for (auto& c : cases) {
    Stats s;
    H2ServerProtocol server(limits, s, remote, true);
    std::string wire = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") + c.frames;
    EXPECT_FALSE(server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()})) << c.name;
    EXPECT_EQ(goaway_in(drain(server)), NGHTTP2_ENHANCE_YOUR_CALM) << c.name;
    EXPECT_EQ(s.snapshot().*c.counter, 1u) << c.name;
    EXPECT_FALSE(server.wants_read()) << c.name;
  }
}

TEST_F(H2ServerProtocolTest, ContinuationCapsApplyAcrossSmallChunks) {
  H2ServerProtocol server(limits, stats, remote, true);
  std::string wire = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") +
                     frame(NGHTTP2_HEADERS, 0, 1, std::string("\x82\x87\x84", 3));
  // Static index 16, accept-encoding: gzip, deflate (valid, repeatable).
  for (int i = 0; i < 40; ++i) wire += frame(NGHTTP2_CONTINUATION, 0, 1, std::string(1, '\x90'));
  bool alive = true;
  // Feed one byte at a time: frame boundaries must be tracked across reads.
  for (std::size_t i = 0; i < wire.size() && alive; ++i) {
    alive = server.receive({reinterpret_cast<const std::uint8_t*>(wire.data() + i), 1});
  }
  EXPECT_FALSE(alive);
  EXPECT_EQ(goaway_in(drain(server)), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(stats.snapshot().h2_header_floods, 1u);
}

TEST_F(H2ServerProtocolTest, RequestTimeoutAnswers408) {
  limits.request_timeout = std::chrono::milliseconds(10);
  H2ServerProtocol server(limits, stats, remote, true);
  std::string wire =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") +
      frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, std::string("\x83\x87\x84\x41\x01x", 6));
  ASSERT_TRUE(server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()}));
  auto deadline = server.next_request_deadline();
  ASSERT_NE(deadline, H2ServerProtocol::Clock::time_point::max());
  server.expire_requests(deadline);
  auto out = drain(server);
  EXPECT_EQ(stats.snapshot().request_timeouts, 1u);
  EXPECT_NE(out.find(static_cast<char>(NGHTTP2_RST_STREAM)), std::string::npos);
  EXPECT_EQ(server.next_request_deadline(), H2ServerProtocol::Clock::time_point::max());
}

TEST_F(H2ServerProtocolTest, HandlersOfResetStreamsStillCountAgainstTheStreamLimit) {
  limits.max_concurrent_streams = 2;
  H2ServerProtocol server(limits, stats, remote, true);
  auto feed = [&](const std::string& wire) {
    bool ok = server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
    drain(server);  // our RST_STREAMs go out (nghttp2 counts a stream until then)
    return ok;
  };
  std::string get("\x82\x87\x84\x41\x01x", 6);
  auto request = [&](std::uint32_t id) {
    return frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id, get);
  };
  ASSERT_TRUE(feed("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") + request(1)));
  ASSERT_EQ(server.take_requests().size(), 1u);  // handler for stream 1 runs
  ASSERT_TRUE(feed(frame(NGHTTP2_RST_STREAM, 0, 1, std::string("\0\0\0\x08", 4)) + request(3) + request(5)));
  EXPECT_EQ(server.take_requests().size(), 1u);  // stream 3; stream 5 refused
  EXPECT_EQ(stats.snapshot().streams_refused, 1u);
  server.respond(1, Response(200), false);  // the orphaned handler finished
  ASSERT_TRUE(feed(request(7)));
  EXPECT_EQ(server.take_requests().size(), 1u);
  EXPECT_EQ(stats.snapshot().streams_refused, 1u);
}

struct Frame {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t stream = 0;
  std::string payload;
};

std::vector<Frame> frames_in(const std::string& wire) {
  std::vector<Frame> frames;
  auto u = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(wire[k])); };
  for (std::size_t i = 0; i + 9 <= wire.size();) {
    std::size_t len = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    if (i + 9 + len > wire.size()) break;
    frames.push_back({static_cast<std::uint8_t>(u(i + 3)), static_cast<std::uint8_t>(u(i + 4)),
                      ((u(i + 5) & 0x7f) << 24) | (u(i + 6) << 16) | (u(i + 7) << 8) | u(i + 8),
                      wire.substr(i + 9, len)});
    i += 9 + len;
  }
  return frames;
}

std::uint32_t be32(std::string_view p, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<std::uint8_t>(p[at + k]);
  return v;
}

// RFC 9113 §5.1.2 makes a stream over the advertised limit a stream error.
// nghttp2 refuses such a stream itself only while our SETTINGS are not yet
// acknowledged; afterwards it ends the whole connection with
// GOAWAY(PROTOCOL_ERROR). A client that acknowledged them, has 256 requests
// in flight and opens a 257th must lose only that one.
TEST_F(H2ServerProtocolTest, StreamOverTheAcknowledgedLimitIsRefusedAlone) {
  limits.max_concurrent_streams = 256;
  H2ServerProtocol server(limits, stats, remote, true);
  auto feed = [&](const std::string& wire) {
    EXPECT_TRUE(server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()}));
    return frames_in(drain(server));
  };
  std::string get("\x82\x87\x84\x41\x01x", 6);
  auto request = [&](std::uint32_t id) {
    return frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id, get);
  };

  // The limit the peer is told.
  auto preface = frames_in(drain(server));
  ASSERT_FALSE(preface.empty());
  ASSERT_EQ(preface[0].type, NGHTTP2_SETTINGS);
  std::optional<std::uint32_t> advertised;
  for (std::size_t i = 0; i + 6 <= preface[0].payload.size(); i += 6) {
    if (preface[0].payload[i] == 0 && preface[0].payload[i + 1] == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
      advertised = be32(preface[0].payload, i + 2);
  }
  EXPECT_EQ(advertised, 256u);

  std::string wire = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") +
                     frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, "");
  for (std::uint32_t i = 0; i < 256; ++i) wire += request(2 * i + 1);
  feed(wire);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 256u);

  auto refused = feed(request(513));  // the 257th while 256 handlers run
  EXPECT_TRUE(server.take_requests().empty());
  bool reset = false;
  for (auto& f : refused) {
    EXPECT_NE(f.type, NGHTTP2_GOAWAY) << "error code " << be32(f.payload, 4);
    if (f.type == NGHTTP2_RST_STREAM && f.stream == 513) reset = be32(f.payload, 0) == NGHTTP2_REFUSED_STREAM;
  }
  EXPECT_TRUE(reset);
  EXPECT_TRUE(server.wants_read());
  EXPECT_EQ(stats.snapshot().streams_refused, 1u);

  // The 256 others are answered, and the connection takes new streams.
  for (auto& [id, req] : requests) server.respond(id, Response(200, "ok"), false);
  std::set<std::uint32_t> answered;
  for (auto& f : frames_in(drain(server))) {
    EXPECT_NE(f.type, NGHTTP2_GOAWAY);
    if (f.type == NGHTTP2_DATA && (f.flags & NGHTTP2_FLAG_END_STREAM) && f.payload == "ok")
      answered.insert(f.stream);
  }
  EXPECT_EQ(answered.size(), 256u);
  feed(request(515));
  EXPECT_EQ(server.take_requests().size(), 1u);
}

// Refused streams stay open in nghttp2 until their RST_STREAM is written.
// A peer that keeps opening streams over the limit gets each refused while
// it reads our answers; one that does not read is cut off after a bounded
// backlog instead of making us hold every refused stream.
TEST_F(H2ServerProtocolTest, RefusedStreamsWaitingForTheirResetAreBounded) {
  limits.max_concurrent_streams = 2;
  std::string get("\x82\x87\x84\x41\x01x", 6);
  auto open = [&](std::uint32_t id) { return frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, id, get); };
  std::string start = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") +
                      frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, "");
  auto feed = [](H2ServerProtocol& server, const std::string& wire) {
    return server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
  };

  H2ServerProtocol reading(limits, stats, remote, true);
  ASSERT_TRUE(feed(reading, start + open(1) + open(3)));
  for (std::uint32_t id = 5; id < 5 + 2 * 3000; id += 2) {
    ASSERT_TRUE(feed(reading, open(id)));
    ASSERT_EQ(goaway_in(drain(reading)), std::nullopt) << id;
  }
  EXPECT_EQ(stats.snapshot().streams_refused, 3000u);

  Stats s;
  H2ServerProtocol deaf(limits, s, remote, true);
  std::string wire = start;
  for (std::uint32_t id = 1; id < 2 * 3000; id += 2) wire += open(id);
  feed(deaf, wire);
  EXPECT_EQ(goaway_in(drain(deaf)), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_FALSE(deaf.wants_read());
  EXPECT_LE(s.snapshot().streams_refused, 1001u);
}

}  // namespace
}  // namespace basalt::http
