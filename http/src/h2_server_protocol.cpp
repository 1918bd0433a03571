#include "h2_server_protocol.hpp"

#include "h1_response_writer.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

namespace basalt::http {

namespace {
// Body bytes accepted (and dropped) after an early answer before RST_STREAM.
constexpr std::size_t kMaxDiscard = 1024 * 1024;
// Streams nghttp2 lets a peer open beyond the advertised limit (see the
// constructor): refused streams stay open in nghttp2 until their
// RST_STREAM is written, so this bounds what a peer that ignores the limit
// and does not read can make us hold. Past it nghttp2 ends the connection.
constexpr std::uint64_t kRefusedBacklog = 1000;
}  // namespace

struct H2ServerProtocol::Stream {
  std::int32_t id = 0;
  Request request;
  std::size_t header_bytes = 0;
  int reject_status = 0;      // answer this instead of calling the handler
  bool request_done = false;  // END_STREAM received (or rejected)
  bool dispatched = false;
  bool responded = false;
  Clock::time_point opened;
  Response response;
  std::size_t body_offset = 0;
  std::size_t discarded = 0;  // body bytes after an early answer
  bool reset_sent = false;
  bool reset_after_response = false;
  bool handler = false;  // handed to a handler (take_requests)
};

struct H2ServerProtocol::Session {
  nghttp2_session* s = nullptr;
  ~Session() {
    if (s) nghttp2_session_del(s);
  }
};

bool H2ServerProtocol::Window::over(std::uint32_t limit, Clock::duration window, Clock::time_point now) {
  if (now - start >= window) {
    start = now;
    count = 0;
  }
  return ++count > limit;
}

// nghttp2 callbacks: static functions that find the protocol object in user_data.
struct H2ServerProtocol::Callbacks {
  static H2ServerProtocol& self(void* p) { return *static_cast<H2ServerProtocol*>(p); }

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& p = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    // The one place the advertised stream limit is enforced (nghttp2's own
    // is set higher, see the constructor). Handlers of streams the peer
    // already reset still run; they count too, so open-and-reset cycles
    // cannot pile up work (rapid reset).
    if (p.streams_.size() + p.orphans_.size() >= p.limits_.max_concurrent_streams) {
      p.stats_.add(Stats::kStreamsRefused);
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
      return 0;  // no Stream: its headers are decoded (HPACK state) and dropped
    }
    auto stream = std::make_unique<Stream>();
    stream->id = frame->hd.stream_id;
    stream->opened = Clock::now();
    stream->request.version = Version::http2;
    stream->request.remote = p.remote_;
    stream->request.scheme = p.secure_ ? "https" : "http";
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream.get());
    p.streams_[frame->hd.stream_id] = std::move(stream);
    return 0;
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                       void* user) {
    auto& p = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (!st) return 0;
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: ignored
    st->header_bytes += namelen + valuelen + 32;               // RFC 9113 §6.5.2 accounting
    if (st->header_bytes > p.limits_.max_header_bytes) {
      st->reject_status = 431;
      return 0;
    }
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    auto& r = st->request;
    if (!n.empty() && n[0] == ':') {
      if (n == ":method") {
        r.method.assign(v);
      } else if (n == ":path") {
        r.set_target(v);
      } else if (n == ":authority") {
        r.authority.assign(v);
      } else if (n == ":scheme") {
        r.scheme.assign(v);
      }
      return 0;
    }
    if (n == "host" && r.authority.empty()) r.authority.assign(v);
    r.headers.add(n, v);
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t len, void* user) {
    auto& p = self(user);
    auto* st = p.find(stream_id);
    if (!st) return 0;
    if (st->reject_status || st->responded) {
      // Answered early (413): drop the rest of the body. Some clients
      // (curl 7.88) treat an immediate RST_STREAM(NO_ERROR) as a failure,
      // so reset only when the peer keeps sending another body's worth.
      st->discarded += len;
      if (st->discarded > std::max<std::size_t>(p.limits_.max_body_bytes, kMaxDiscard) && !st->reset_sent) {
        st->reset_sent = true;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
      }
      return 0;
    }
    if (st->request.body.size() + len > p.limits_.max_body_bytes) {
      st->reject_status = 413;
      st->request.body.clear();
      st->request.body.shrink_to_fit();
      return 0;
    }
    st->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& p = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    auto* st = p.find(frame->hd.stream_id);
    if (!st || st->dispatched) return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && !end && !st->reject_status) {
      auto expect = st->request.headers.get("expect");
      if (expect && iequals(*expect, "100-continue")) {
        nghttp2_nv nv{const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(":status")),
                      const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>("100")), 7, 3,
                      NGHTTP2_NV_FLAG_NONE};
        nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, nullptr, &nv, 1, nullptr);
      }
    }
    if (st->reject_status) {
      st->dispatched = true;
      st->request_done = end;
      if (st->reject_status == 431) {
        p.stats_.add(Stats::kHeaderTooLarge);
      } else if (st->reject_status == 413) {
        p.stats_.add(Stats::kBodyTooLarge);
      }
      p.respond_internal(*st, Response::text(st->reject_status, reason_phrase(st->reject_status)), false);
      return 0;
    }
    if (!end) return 0;
    st->request_done = true;
    st->dispatched = true;
    p.stats_.add(Stats::kRequestsHttp2);
    if (st->request.method.empty()) {
      p.stats_.add(Stats::kBadRequests);
      p.respond_internal(*st, Response::text(400, "Bad Request"), false);
      return 0;
    }
    st->handler = true;
    p.ready_.emplace_back(st->id, std::move(st->request));
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user) {
    auto& p = self(user);
    auto it = p.streams_.find(stream_id);
    if (it == p.streams_.end()) return 0;
    // Reset while its handler runs: the work continues, so it still counts.
    if (it->second->handler && !it->second->responded) p.orphans_.insert(stream_id);
    p.streams_.erase(it);
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& p = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      auto code = frame->goaway.error_code;
      if (code != NGHTTP2_NO_ERROR && code != NGHTTP2_ENHANCE_YOUR_CALM)
        p.stats_.add(Stats::kH2ProtocolErrors);
      return 0;
    }
    // A request that timed out (408): after the answer, end the stream so it
    // no longer counts as open (RFC 9113 §8.1 allows RST_STREAM(NO_ERROR)).
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      auto* st = p.find(frame->hd.stream_id);
      if (st && !st->request_done && st->reset_after_response) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
      }
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* st = static_cast<Stream*>(source->ptr);
    auto& body = st->response.body;
    std::size_t n = std::min(length, body.size() - st->body_offset);
    std::memcpy(buf, body.data() + st->body_offset, n);
    st->body_offset += n;
    if (st->body_offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

// Budgets per frame header, seen by our own scanner of the input (nghttp2
// 1.52 does not report CONTINUATION frames through on_begin_frame).
bool H2ServerProtocol::check_frame(std::uint8_t type, std::uint8_t flags, std::size_t length) {
  const auto& l = limits_;
  auto now = Clock::now();
  switch (type) {
    case NGHTTP2_HEADERS:
      block_bytes_ = length;
      continuations_ = 0;
      if (block_bytes_ > l.max_header_block_bytes) return calm(Stats::kH2HeaderFloods);
      break;
    case NGHTTP2_CONTINUATION:
      block_bytes_ += length;
      ++continuations_;
      if (block_bytes_ > l.max_header_block_bytes || continuations_ > l.max_continuations) {
        return calm(Stats::kH2HeaderFloods);
      }
      if (length == 0 && !(flags & NGHTTP2_FLAG_END_HEADERS) &&
          empty_.over(l.max_empty_frames_per_window, l.abuse_window, now)) {
        return calm(Stats::kH2EmptyFrameFloods);
      }
      break;
    case NGHTTP2_DATA:
      if (length == 0 && !(flags & NGHTTP2_FLAG_END_STREAM) &&
          empty_.over(l.max_empty_frames_per_window, l.abuse_window, now)) {
        return calm(Stats::kH2EmptyFrameFloods);
      }
      break;
    case NGHTTP2_RST_STREAM:
      if (resets_.over(l.max_resets_per_window, l.abuse_window, now)) return calm(Stats::kH2RapidResets);
      break;
    case NGHTTP2_SETTINGS:
      if (!(flags & NGHTTP2_FLAG_ACK) && settings_.over(l.max_settings_per_window, l.abuse_window, now)) {
        return calm(Stats::kH2SettingsFloods);
      }
      break;
    case NGHTTP2_PING:
      if (!(flags & NGHTTP2_FLAG_ACK) && pings_.over(l.max_pings_per_window, l.abuse_window, now)) {
        return calm(Stats::kH2PingFloods);
      }
      break;
    default:
      break;
  }
  return true;
}

// Walks frame boundaries in the received bytes; returns the offset of the
// first frame that broke a budget, or npos.
std::size_t H2ServerProtocol::scan(std::span<const std::uint8_t> bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t left = bytes.size() - i;
    if (scan_.preface_left) {
      auto k = std::min(scan_.preface_left, left);
      scan_.preface_left -= k;
      i += k;
    } else if (scan_.payload_left) {
      auto k = std::min(scan_.payload_left, left);
      scan_.payload_left -= k;
      i += k;
    } else {
      scan_.header[scan_.have++] = bytes[i++];
      if (scan_.have == 9) {
        scan_.have = 0;
        std::size_t length =
            (std::size_t{scan_.header[0]} << 16) | (std::size_t{scan_.header[1]} << 8) | scan_.header[2];
        scan_.payload_left = length;
        if (!check_frame(scan_.header[3], scan_.header[4], length)) return i >= 9 ? i - 9 : 0;
      }
    }
  }
  return std::string_view::npos;
}

H2ServerProtocol::H2ServerProtocol(const Limits& limits, Stats& stats, core::Endpoint remote, bool secure)
    : limits_(limits),
      stats_(stats),
      remote_(remote),
      secure_(secure),
      session_(std::make_unique<Session>()) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, Callbacks::on_frame_send);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_outbound_ack(opt, limits.max_queued_control_frames);
  // Our own budgets fire first; nghttp2's are the backstop.
  nghttp2_option_set_max_continuations(opt, limits.max_continuations + 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * limits.max_resets_per_window + 1000, 1000);
  nghttp2_option_set_no_closed_streams(opt, 1);

  nghttp2_session_server_new2(&session_->s, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);

  // Once the peer has acknowledged SETTINGS_MAX_CONCURRENT_STREAMS, nghttp2
  // treats a stream over it as a connection error (GOAWAY(PROTOCOL_ERROR),
  // ending every stream of the connection); RFC 9113 §5.1.2 allows a stream
  // error, and we promise RST_STREAM(REFUSED_STREAM) for that stream only.
  // So nghttp2 gets a higher limit, on_begin_headers refuses at ours, and
  // next_output() writes ours into the SETTINGS frame the peer receives.
  auto nghttp2_stream_limit = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(limits.max_concurrent_streams + kRefusedBacklog, UINT32_MAX));
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, nghttp2_stream_limit},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX))},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_->s, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // Let several streams upload at once without stalling on the connection window.
  auto window =
      static_cast<std::int32_t>(std::min<std::uint64_t>(4ull * limits.initial_window_size, INT32_MAX));
  if (window > 65535) nghttp2_session_set_local_window_size(session_->s, NGHTTP2_FLAG_NONE, 0, window);
}

H2ServerProtocol::~H2ServerProtocol() = default;

H2ServerProtocol::Stream* H2ServerProtocol::find(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

bool H2ServerProtocol::calm(Stats::Counter reason) {
  if (!fatal_code_) {
    fatal_code_ = NGHTTP2_ENHANCE_YOUR_CALM;
    stats_.add(reason);
  }
  return false;
}

bool H2ServerProtocol::receive(std::span<const std::uint8_t> bytes) {
  if (failed_) return false;
  auto cut = scan(bytes);
  auto usable = cut == std::string_view::npos ? bytes : bytes.first(cut);
  auto rv = nghttp2_session_mem_recv(session_->s, usable.data(), usable.size());
  if (rv >= 0 && cut != std::string_view::npos) {
    // Frames before the offending one were processed; end with GOAWAY.
    failed_ = true;
    nghttp2_session_terminate_session(session_->s, fatal_code_);
    return false;
  }
  if (rv >= 0) return true;
  failed_ = true;
  if (rv == NGHTTP2_ERR_FLOODED) {
    // The peer does not read our ACKs; a GOAWAY would queue behind them.
    stats_.add(Stats::kH2ControlQueueFloods);
    return false;
  }
  std::uint32_t code = fatal_code_ ? fatal_code_ : std::uint32_t{NGHTTP2_PROTOCOL_ERROR};
  if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS && !fatal_code_) {
    stats_.add(Stats::kH2HeaderFloods);
    code = NGHTTP2_ENHANCE_YOUR_CALM;
  }
  nghttp2_session_terminate_session(session_->s, code);
  return false;
}

std::span<const std::uint8_t> H2ServerProtocol::next_output() {
  const std::uint8_t* data = nullptr;
  auto n = nghttp2_session_mem_send(session_->s, &data);
  if (n <= 0) return {};
  std::span<const std::uint8_t> out(data, static_cast<std::size_t>(n));
  if (!settings_sent_) return advertise_stream_limit(out);
  return out;
}

// Our SETTINGS frame (the first frame we send; nghttp2 hands out one whole
// frame per call) as nghttp2 wrote it, with the limit we enforce in place
// of the one nghttp2 enforces.
std::span<const std::uint8_t> H2ServerProtocol::advertise_stream_limit(std::span<const std::uint8_t> out) {
  if (out.size() < 9 || out[3] != NGHTTP2_SETTINGS || (out[4] & NGHTTP2_FLAG_ACK)) return out;
  settings_sent_ = true;
  std::size_t end = 9 + ((std::size_t{out[0]} << 16) | (std::size_t{out[1]} << 8) | out[2]);
  if (end > out.size()) return out;
  first_settings_.assign(out.begin(), out.end());
  for (std::size_t i = 9; i + 6 <= end; i += 6) {
    if (first_settings_[i] != 0 || first_settings_[i + 1] != NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
      continue;
    std::uint32_t v = limits_.max_concurrent_streams;
    for (std::size_t k = 0; k < 4; ++k)
      first_settings_[i + 2 + k] = static_cast<std::uint8_t>(v >> (24 - 8 * k));
  }
  return first_settings_;
}

bool H2ServerProtocol::wants_read() const {
  return !failed_ && nghttp2_session_want_read(session_->s);
}
bool H2ServerProtocol::wants_write() const {
  return nghttp2_session_want_write(session_->s);
}

std::vector<std::pair<std::int32_t, Request>> H2ServerProtocol::take_requests() {
  return std::exchange(ready_, {});
}

void H2ServerProtocol::respond(std::int32_t stream_id, Response response, bool head_request) {
  if (orphans_.erase(stream_id)) return;
  auto* st = find(stream_id);
  if (!st || st->responded) return;
  respond_internal(*st, std::move(response), head_request);
}

void H2ServerProtocol::respond_internal(Stream& st, Response response, bool head_request) {
  st.responded = true;
  st.response = std::move(response);
  int status = st.response.status < 100 || st.response.status > 999 ? 500 : st.response.status;
  char status_text[4];
  std::to_chars(status_text, status_text + 3, status);
  char length_text[24];
  auto length_end = std::to_chars(length_text, length_text + sizeof length_text, st.response.body.size()).ptr;

  std::vector<std::string> names;  // lower-cased copies (HTTP/2 field names are lowercase)
  names.reserve(st.response.headers.size());
  std::vector<nghttp2_nv> nva;
  nva.reserve(st.response.headers.size() + 2);
  auto nv = [](const char* n, std::size_t nl, const char* v, std::size_t vl) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(n)),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(v)), nl, vl, NGHTTP2_NV_FLAG_NONE};
  };
  nva.push_back(nv(":status", 7, status_text, 3));
  for (auto& f : st.response.headers) {
    if (is_connection_specific(f.name) || iequals(f.name, "content-length") || f.name.empty() ||
        f.name[0] == ':') {
      continue;
    }
    std::string lower = f.name;
    for (auto& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    names.push_back(std::move(lower));
    nva.push_back(nv(names.back().data(), names.back().size(), f.value.data(), f.value.size()));
  }
  bool has_body = status_has_body(status);
  if (has_body)
    nva.push_back(nv("content-length", 14, length_text, static_cast<std::size_t>(length_end - length_text)));
  if (has_body && !head_request && !st.response.body.empty()) {
    nghttp2_data_provider provider{};
    provider.source.ptr = &st;
    provider.read_callback = Callbacks::read_body;
    nghttp2_submit_response(session_->s, st.id, nva.data(), nva.size(), &provider);
  } else {
    nghttp2_submit_response(session_->s, st.id, nva.data(), nva.size(), nullptr);
  }
}

void H2ServerProtocol::shutdown_notice() {
  if (failed_) return;
  nghttp2_submit_goaway(session_->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_->s),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

void H2ServerProtocol::terminate(std::uint32_t error_code) {
  nghttp2_session_terminate_session(session_->s, error_code);
}

void H2ServerProtocol::expire_requests(Clock::time_point now) {
  std::vector<Stream*> late;
  for (auto& [id, st] : streams_) {
    if (!st->request_done && !st->responded && st->opened + limits_.request_timeout <= now)
      late.push_back(st.get());
  }
  for (auto* st : late) {
    stats_.add(Stats::kRequestTimeouts);
    st->dispatched = true;
    st->reset_after_response = true;
    respond_internal(*st, Response::text(408, "Request Timeout"), false);
  }
}

H2ServerProtocol::Clock::time_point H2ServerProtocol::next_request_deadline() const {
  auto next = Clock::time_point::max();
  for (auto& [id, st] : streams_) {
    if (!st->request_done && !st->responded) next = std::min(next, st->opened + limits_.request_timeout);
  }
  return next;
}

}  // namespace basalt::http
