#include "h2_server_protocol.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <boost/asio/io_context.hpp>

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <set>

namespace basalt::http {
namespace {

// An nghttp2 client session wired to the protocol in memory.
struct Client {
  nghttp2_session* s = nullptr;
  std::map<std::int32_t, std::pair<int, std::string>> responses;  // status, body
  std::map<std::int32_t, Headers> heads;                          // final response fields
  std::map<std::int32_t, Headers> trailers;                       // response trailers
  std::map<std::int32_t, std::uint32_t> resets;
  std::map<std::int32_t, int> window_updates;
  std::set<std::int32_t> closed;
  std::optional<std::uint32_t> goaway;
  struct Upload {
    std::string data;
    std::size_t offset = 0;
    Headers trailers;
  };
  std::map<std::int32_t, std::unique_ptr<Upload>> uploads;

  Client() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n, std::size_t nl,
                const std::uint8_t* v, std::size_t vl, std::uint8_t, void* u) {
          auto* c = static_cast<Client*>(u);
          std::string_view name(reinterpret_cast<const char*>(n), nl),
              value(reinterpret_cast<const char*>(v), vl);
          if (name == ":status") {
            c->responses[f->hd.stream_id].first = std::stoi(std::string(value));
          } else if (f->headers.cat == NGHTTP2_HCAT_HEADERS && c->responses[f->hd.stream_id].first >= 200) {
            c->trailers[f->hd.stream_id].add(name, value);
          } else {
            c->heads[f->hd.stream_id].add(name, value);
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
          if (f->hd.type == NGHTTP2_WINDOW_UPDATE) ++c->window_updates[f->hd.stream_id];
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, std::int32_t id, std::uint32_t, void* u) {
          static_cast<Client*>(u)->closed.insert(id);
          return 0;
        });
    nghttp2_session_client_new(&s, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(s); }

  std::int32_t request(std::vector<std::pair<std::string, std::string>> h, std::unique_ptr<Upload> upload) {
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : h) {
      nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    if (!upload) return nghttp2_submit_request(s, nullptr, nva.data(), nva.size(), nullptr, nullptr);
    nghttp2_data_provider provider{};
    provider.source.ptr = upload.get();
    provider.read_callback = [](nghttp2_session* session, std::int32_t id, std::uint8_t* buf, std::size_t len,
                                std::uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
      auto* up = static_cast<Upload*>(src->ptr);
      std::size_t n = std::min(len, up->data.size() - up->offset);
      std::memcpy(buf, up->data.data() + up->offset, n);
      up->offset += n;
      if (up->offset == up->data.size()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!up->trailers.empty()) {
          std::vector<nghttp2_nv> tv;
          for (auto& f : up->trailers) {
            tv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                          reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(),
                          f.value.size(), NGHTTP2_NV_FLAG_NONE});
          }
          nghttp2_submit_trailer(session, id, tv.data(), tv.size());
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
      return static_cast<ssize_t>(n);
    };
    auto id = nghttp2_submit_request(s, nullptr, nva.data(), nva.size(), &provider, nullptr);
    uploads[id] = std::move(upload);
    return id;
  }

  std::int32_t get(const std::string& path, std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", "GET"}, {":scheme", "https"}, {":authority", "example"}, {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    return request(std::move(h), nullptr);
  }

  std::int32_t post(const std::string& path, std::string body, Headers trailers = {},
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> h = {
        {":method", "POST"}, {":scheme", "https"}, {":authority", "example"}, {":path", path}};
    h.insert(h.end(), extra.begin(), extra.end());
    auto up = std::make_unique<Upload>();
    up->data = std::move(body);
    up->trailers = std::move(trailers);
    return request(std::move(h), std::move(up));
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

// Everything buffered in `body` now, without waiting.
std::string take_all(Body& body) {
  std::string out;
  std::array<std::uint8_t, 4096> buf;
  for (std::size_t n; (n = body.take(buf)) > 0;) out.append(reinterpret_cast<const char*>(buf.data()), n);
  return out;
}

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
  boost::asio::io_context io;  // where the Bodies live; the tests use them without waiting
  Limits limits;
  Stats stats;
  core::Endpoint remote{core::IpAddress::v4_loopback(), 1234};
};

TEST_F(H2ServerProtocolTest, RequestAndResponseRoundTrip) {
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
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
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
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
    H2ServerProtocol server(io.get_executor(), limits, s, remote, true);
    std::string wire = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") + c.frames;
    EXPECT_FALSE(server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()})) << c.name;
    EXPECT_EQ(goaway_in(drain(server)), NGHTTP2_ENHANCE_YOUR_CALM) << c.name;
    EXPECT_EQ(s.snapshot().*c.counter, 1u) << c.name;
    EXPECT_FALSE(server.wants_read()) << c.name;
  }
}

TEST_F(H2ServerProtocolTest, ContinuationCapsApplyAcrossSmallChunks) {
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
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

// The head of an HTTP/2 request arrives whole, so it is handed out at once;
// a body that does not arrive within body_timeout gets 408 (no response
// started yet), the handler's Body fails with kTimeout, and the stream is
// reset after the answer.
TEST_F(H2ServerProtocolTest, BodyTimeoutAnswers408) {
  limits.body_timeout = std::chrono::milliseconds(10);
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  std::string wire =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") +
      frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, std::string("\x83\x87\x84\x41\x01x", 6));
  ASSERT_TRUE(server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()}));
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  auto body = requests[0].second.body;
  auto deadline = server.next_deadline();
  ASSERT_NE(deadline, H2ServerProtocol::Clock::time_point::max());
  server.expire(deadline);
  auto out = drain(server);
  EXPECT_EQ(stats.snapshot().request_timeouts, 1u);
  EXPECT_EQ(body->error(), make_error_code(BodyError::kTimeout));
  EXPECT_NE(out.find(static_cast<char>(NGHTTP2_RST_STREAM)), std::string::npos);
  EXPECT_EQ(server.next_deadline(), H2ServerProtocol::Clock::time_point::max());
  server.handler_finished(1);
  EXPECT_EQ(server.handlers_running(), 0u);
}

TEST_F(H2ServerProtocolTest, HandlersOfResetStreamsStillCountAgainstTheStreamLimit) {
  limits.max_concurrent_streams = 2;
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
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
  server.handler_finished(1);  // the orphaned handler finished
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
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
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
  for (auto& [id, req] : requests) {
    server.respond(id, Response(200, "ok"), false);
    server.handler_finished(id);
  }
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

  H2ServerProtocol reading(io.get_executor(), limits, stats, remote, true);
  ASSERT_TRUE(feed(reading, start + open(1) + open(3)));
  for (std::uint32_t id = 5; id < 5 + 2 * 3000; id += 2) {
    ASSERT_TRUE(feed(reading, open(id)));
    ASSERT_EQ(goaway_in(drain(reading)), std::nullopt) << id;
  }
  EXPECT_EQ(stats.snapshot().streams_refused, 3000u);

  Stats s;
  H2ServerProtocol deaf(io.get_executor(), limits, s, remote, true);
  std::string wire = start;
  for (std::uint32_t id = 1; id < 2 * 3000; id += 2) wire += open(id);
  feed(deaf, wire);
  EXPECT_EQ(goaway_in(drain(deaf)), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_FALSE(deaf.wants_read());
  EXPECT_LE(s.snapshot().streams_refused, 1001u);
}

// The flow-control rule: a request body streams into the handler's Body,
// and WINDOW_UPDATE (stream and connection) is sent only for what the
// handler took. A handler that does not read holds one window, however
// large the upload.
TEST_F(H2ServerProtocolTest, RequestBodyWindowOpensOnlyAsTheHandlerReads) {
  limits.initial_window_size = 64 * 1024;
  limits.connection_window_size = 128 * 1024;
  limits.max_body_bytes = 0;
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  std::string payload(1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + i / 4096);
  auto id = c.post("/up", payload);
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].second.method, "POST");
  auto body = requests[0].second.body;
  EXPECT_EQ(body->buffered(), 64u * 1024);
  EXPECT_EQ(nghttp2_session_get_stream_remote_window_size(c.s, id), 0);
  int updates = c.window_updates[id];
  c.pump(server);
  EXPECT_EQ(body->buffered(), 64u * 1024);  // nothing more while nobody reads
  EXPECT_EQ(c.window_updates[id], updates);

  std::string got;
  std::array<std::uint8_t, 5000> buf;
  for (int i = 0; i < 10000 && !body->done(); ++i) {
    auto n = body->take(buf);
    got.append(reinterpret_cast<const char*>(buf.data()), n);
    c.pump(server);
    ASSERT_LE(body->buffered(), 64u * 1024);
  }
  EXPECT_TRUE(body->done());
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  EXPECT_GT(c.window_updates[id], updates);
  EXPECT_GT(c.window_updates[0], 0);  // the connection window opened too
}

TEST_F(H2ServerProtocolTest, TrailersBothWays) {
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  Headers sent;
  sent.add("x-checksum", "abc");
  auto id = c.post("/rpc", "request bytes", sent);
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  auto& [sid, req] = requests[0];
  EXPECT_EQ(take_all(*req.body), "request bytes");
  ASSERT_TRUE(req.body->done());
  EXPECT_EQ(req.body->trailers().get("x-checksum").value_or(""), "abc");

  auto out = std::make_shared<Body>(io.get_executor(), 1024);
  ResponseHead head;
  head.headers.add("Content-Type", "application/grpc");
  ASSERT_FALSE(server.send_head(sid, head, out));
  c.pump(server);
  EXPECT_EQ(c.responses[id].first, 200);
  EXPECT_EQ(c.heads[id].get("content-type").value_or(""), "application/grpc");
  EXPECT_FALSE(c.closed.count(id));  // DATA waits for the handler
  out->push(std::string("hello "));
  c.pump(server);
  EXPECT_EQ(c.responses[id].second, "hello ");
  out->push(std::string("world"));
  Headers t;
  t.add("grpc-status", "0");
  out->finish(t);
  c.pump(server);
  EXPECT_EQ(c.responses[id].second, "hello world");
  EXPECT_EQ(c.trailers[id].get("grpc-status").value_or(""), "0");
  EXPECT_TRUE(c.closed.count(id));
  EXPECT_EQ(server.response_state(sid), H2ServerProtocol::ResponseState::kGone);  // closed
}

// RFC 9113 §8.1.1: DATA beyond a declared content-length, or END_STREAM
// short of it, makes the request malformed: RST_STREAM(PROTOCOL_ERROR),
// and the handler's Body fails with kProtocol.
TEST_F(H2ServerProtocolTest, ContentLengthMismatchResetsTheStream) {
  for (std::string data : {std::string(10, 'a'), std::string(3, 'a')}) {
    Stats s;
    H2ServerProtocol server(io.get_executor(), limits, s, remote, true);
    // POST, https, /, :authority x, content-length: 5 (static index 28)
    std::string block(
        "\x83\x87\x84\x41\x01x\x0f\x0d\x01"
        "5",
        10);
    std::string wire = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(NGHTTP2_SETTINGS, 0, 0, "") +
                       frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, block);
    ASSERT_TRUE(server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()}));
    auto requests = server.take_requests();
    ASSERT_EQ(requests.size(), 1u);
    auto body = requests[0].second.body;
    wire = frame(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, data);
    server.receive({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
    bool reset = false;
    for (auto& f : frames_in(drain(server))) {
      if (f.type == NGHTTP2_RST_STREAM && f.stream == 1) reset = be32(f.payload, 0) == NGHTTP2_PROTOCOL_ERROR;
    }
    EXPECT_TRUE(reset) << data.size();
    EXPECT_EQ(body->error(), make_error_code(BodyError::kProtocol)) << data.size();
    EXPECT_EQ(s.snapshot().bad_requests, 1u);
    EXPECT_TRUE(server.wants_read());  // the connection goes on
  }
}

TEST_F(H2ServerProtocolTest, HandlerAbortCancelsTheStreamAndPeerResetFailsBothBodies) {
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  auto a = c.post("/a", std::string(1024 * 1024, 'a'));
  auto b = c.post("/b", std::string(1024 * 1024, 'b'));
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 2u);
  auto body_a = requests[0].second.body, body_b = requests[1].second.body;
  body_a->abort();
  c.pump(server);
  EXPECT_EQ(c.resets[a], std::uint32_t{NGHTTP2_CANCEL});

  auto out = std::make_shared<Body>(io.get_executor(), 1024);
  ASSERT_FALSE(server.send_head(requests[1].first, ResponseHead{}, out));
  nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, b, NGHTTP2_CANCEL);
  c.pump(server);
  EXPECT_EQ(body_b->error(), make_error_code(BodyError::kReset));
  EXPECT_EQ(out->error(), make_error_code(BodyError::kReset));  // the handler's next write fails
  EXPECT_EQ(server.response_state(requests[1].first), H2ServerProtocol::ResponseState::kGone);
  // Both handlers still count until they return.
  EXPECT_EQ(server.handlers_running(), 2u);
  server.handler_finished(requests[0].first);
  server.handler_finished(requests[1].first);
  EXPECT_EQ(server.handlers_running(), 0u);
  EXPECT_EQ(server.open_streams(), 0u);
}

TEST_F(H2ServerProtocolTest, BodyOverTheLimitWithoutContentLengthGets413) {
  limits.max_body_bytes = 100 * 1024;
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  auto id = c.post("/up", std::string(300 * 1024, 'x'));
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  auto body = requests[0].second.body;
  for (int i = 0; i < 100 && !body->error(); ++i) {
    take_all(*body);
    c.pump(server);
  }
  EXPECT_EQ(body->error(), make_error_code(BodyError::kTooLarge));
  EXPECT_EQ(c.responses[id].first, 413);
  EXPECT_EQ(stats.snapshot().body_too_large, 1u);
}

// RFC 8441: SETTINGS_ENABLE_CONNECT_PROTOCOL is announced; a CONNECT with
// :protocol reaches the handler with RequestHead::protocol, and a 2xx makes
// the stream a tunnel (no content-length, bytes both ways).
TEST_F(H2ServerProtocolTest, ExtendedConnectTunnel) {
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  c.pump(server);
  EXPECT_EQ(nghttp2_session_get_remote_settings(c.s, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL), 1u);
  auto up = std::make_unique<Client::Upload>();
  up->data = "ping";
  auto id = c.request({{":method", "CONNECT"},
                       {":protocol", "websocket"},
                       {":scheme", "https"},
                       {":path", "/ws"},
                       {":authority", "example"}},
                      std::move(up));
  ASSERT_GT(id, 0);
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  auto& [sid, req] = requests[0];
  EXPECT_EQ(req.method, "CONNECT");
  EXPECT_EQ(req.protocol, "websocket");
  EXPECT_EQ(req.path, "/ws");
  auto out = std::make_shared<Body>(io.get_executor(), 1024);
  ResponseHead head;
  head.headers.add("content-length", "99");  // not allowed on a 2xx to CONNECT: dropped
  ASSERT_FALSE(server.send_head(sid, head, out));
  c.pump(server);
  EXPECT_EQ(take_all(*req.body), "ping");
  out->push(std::string("pong"));
  out->finish();
  c.pump(server);
  EXPECT_EQ(c.responses[id].first, 200);
  EXPECT_FALSE(c.heads[id].contains("content-length"));
  EXPECT_EQ(c.responses[id].second, "pong");
}

// After the response head, a stream whose bodies stop moving is reset
// (RST_STREAM(CANCEL)), and the handler's Body fails with kTimeout.
TEST_F(H2ServerProtocolTest, IdleStreamAfterTheHeadIsCancelled) {
  limits.stream_idle_timeout = std::chrono::milliseconds(10);
  limits.body_timeout = std::chrono::milliseconds(0);
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  auto id = c.post("/slow", "x");
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  auto& [sid, req] = requests[0];
  EXPECT_EQ(take_all(*req.body), "x");
  auto out = std::make_shared<Body>(io.get_executor(), 1024);
  ASSERT_FALSE(server.send_head(sid, ResponseHead{}, out));
  c.pump(server);
  auto deadline = server.next_deadline();
  ASSERT_NE(deadline, H2ServerProtocol::Clock::time_point::max());
  server.expire(deadline);
  c.pump(server);
  EXPECT_EQ(c.resets[id], std::uint32_t{NGHTTP2_CANCEL});
  EXPECT_EQ(out->error(), make_error_code(BodyError::kTimeout));
  EXPECT_EQ(stats.snapshot().h2_stream_timeouts, 1u);
}

// A response with a content-length is passed through; HEAD gets the head only.
TEST_F(H2ServerProtocolTest, StreamedHeadKeepsContentLength) {
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  auto id =
      c.request({{":method", "HEAD"}, {":scheme", "https"}, {":authority", "e"}, {":path", "/"}}, nullptr);
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  ResponseHead head;
  head.headers.add("Content-Length", "12345");
  ASSERT_FALSE(server.send_head(requests[0].first, head, nullptr));
  EXPECT_EQ(server.send_head(requests[0].first, head, nullptr), boost::asio::error::already_started);
  c.pump(server);
  EXPECT_EQ(c.responses[id].first, 200);
  EXPECT_EQ(c.heads[id].get("content-length").value_or(""), "12345");
  EXPECT_TRUE(c.closed.count(id));
}

// A handler that answers and returns without reading its body: the rest of
// the upload is dropped with its window given back, so the client finishes
// instead of stalling on a window nobody opens.
TEST_F(H2ServerProtocolTest, UnreadBodyOfAFinishedHandlerIsDrained) {
  limits.initial_window_size = 16 * 1024;
  limits.connection_window_size = 32 * 1024;
  limits.max_body_bytes = 0;
  H2ServerProtocol server(io.get_executor(), limits, stats, remote, true);
  Client c;
  auto id = c.post("/early", std::string(200 * 1024, 'q'), {}, {{"expect", "100-continue"}});
  c.pump(server);
  auto requests = server.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  server.respond(requests[0].first, Response(200, "early"), false);
  requests.clear();  // the handler is gone, and its Body with it
  server.handler_finished(id);
  c.pump(server);
  EXPECT_EQ(c.responses[id].first, 200);
  EXPECT_EQ(c.responses[id].second, "early");
  EXPECT_TRUE(c.closed.count(id));
  EXPECT_FALSE(c.resets.count(id));  // 200 KiB is under the discard bound: no reset
  EXPECT_EQ(server.open_streams(), 0u);
  EXPECT_EQ(server.handlers_running(), 0u);
}

}  // namespace
}  // namespace basalt::http
