#include "h2_server_protocol.hpp"

#include "h1_response_writer.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/error.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <optional>
#include <string>

namespace basalt::http {

using boost::system::error_code;

namespace {
// Body bytes accepted (and dropped) after an early answer before RST_STREAM.
constexpr std::size_t kMaxDiscard = 1024 * 1024;
// Streams nghttp2 lets a peer open beyond the advertised limit (see the
// constructor): refused streams stay open in nghttp2 until their
// RST_STREAM is written, so this bounds what a peer that ignores the limit
// and does not read can make us hold. Past it nghttp2 ends the connection.
constexpr std::uint64_t kRefusedBacklog = 1000;

// Header fields as nghttp2 takes them: names lower-cased (HTTP/2 field
// names are lowercase), pseudo and connection-specific fields dropped.
class FieldList {
 public:
  void add(std::string_view name, std::string_view value) {
    auto& n = names_.emplace_back(name);
    for (auto& c : n) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    auto& v = values_.emplace_back(value);
    nva_.push_back({reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
  }
  void add_fields(const Headers& headers, bool keep_content_length) {
    for (auto& f : headers) {
      if (f.name.empty() || f.name[0] == ':' || is_connection_specific(f.name)) continue;
      if (!keep_content_length && iequals(f.name, "content-length")) continue;
      add(f.name, f.value);
    }
  }
  const nghttp2_nv* data() const { return nva_.data(); }
  std::size_t size() const { return nva_.size(); }

 private:
  std::deque<std::string> names_, values_;  // stable addresses
  std::vector<nghttp2_nv> nva_;
};

int valid_status(int status) {
  return status < 100 || status > 999 ? 500 : status;
}

std::string status_text(int status) {
  char text[4] = {};
  std::to_chars(text, text + 3, valid_status(status));
  return std::string(text, 3);
}

// The declared Content-Length: nullopt when absent, not all digits, or
// listed with different values (nghttp2 refuses those requests anyway).
std::optional<std::uint64_t> content_length(const Headers& headers) {
  std::optional<std::uint64_t> length;
  for (auto v : headers.get_all("content-length")) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
    if (length && *length != n) return std::nullopt;
    length = n;
  }
  return length;
}
}  // namespace

struct H2ServerProtocol::Stream {
  std::int32_t id = 0;
  RequestHead head;  // until dispatched
  std::size_t header_bytes = 0;
  std::size_t header_count = 0;
  Headers trailers;
  std::size_t trailer_bytes = 0;
  std::size_t trailer_count = 0;
  bool trailers_too_large = false;
  int reject_status = 0;        // answer this instead of calling the handler
  bool head_request = false;    // HEAD: a response without body
  bool connect = false;         // CONNECT (plain or RFC 8441): 2xx makes a tunnel
  bool dispatched = false;      // head complete: handed to a handler or answered
  bool handler = false;         // a handler runs for it
  bool request_done = false;    // END_STREAM received
  bool discarding = false;      // request DATA is dropped (early answer, nobody reads)
  bool responded = false;       // the final head was submitted
  bool response_ended = false;  // END_STREAM (or the last DATA) submitted
  bool flushed = false;         // the frame with END_STREAM was written
  bool tunnel = false;          // CONNECT answered 2xx
  bool closing = false;         // RST_STREAM submitted or written
  bool deferred = false;        // the response body's data source waits for bytes
  bool reset_after_response = false;
  BodyError fail_code = BodyError::kReset;  // what the request body fails with on close
  Clock::time_point opened, head_done, progress;
  // The request body fed by DATA; null before dispatch and once released.
  std::shared_ptr<Body> body;
  std::uint64_t unconsumed = 0;  // pushed into `body`, not yet given back as window
  std::size_t discarded = 0;     // body bytes dropped after an early answer
  // Response: whole (respond) or streamed (send_head with a body).
  Response response;
  std::size_t body_offset = 0;
  std::shared_ptr<Body> out;
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
    stream->opened = stream->progress = Clock::now();
    stream->head.version = Version::http2;
    stream->head.remote = p.remote_;
    stream->head.scheme = p.secure_ ? "https" : "http";
    p.streams_[frame->hd.stream_id] = std::move(stream);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                       void* user) {
    auto& p = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* st = p.find(frame->hd.stream_id);
    if (!st) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    bool pseudo = !n.empty() && n[0] == ':';
    std::size_t size = namelen + valuelen + 32;  // RFC 9113 §6.5.2 accounting
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS && st->dispatched) {
      // Trailers: the same limits as the head.
      st->trailer_bytes += size;
      if (st->trailer_bytes > p.limits_.max_header_bytes || ++st->trailer_count > p.limits_.max_header_count)
        st->trailers_too_large = true;
      if (!st->trailers_too_large && !pseudo) st->trailers.add(n, v);
      return 0;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    st->header_bytes += size;
    if (!pseudo) ++st->header_count;
    if (st->header_bytes > p.limits_.max_header_bytes || st->header_count > p.limits_.max_header_count) {
      st->reject_status = 431;
      return 0;
    }
    auto& r = st->head;
    if (pseudo) {
      if (n == ":method") {
        r.method.assign(v);
      } else if (n == ":path") {
        r.set_target(v);
      } else if (n == ":authority") {
        r.authority.assign(v);
      } else if (n == ":scheme") {
        r.scheme.assign(v);
      } else if (n == ":protocol") {
        r.protocol.assign(v);
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
    if (!st) {  // refused stream: give the window back at once
      nghttp2_session_consume(session, stream_id, len);
      return 0;
    }
    st->progress = Clock::now();
    if (st->discarding || !st->body) {
      p.discard(*st, len);
      return 0;
    }
    if (p.limits_.max_body_bytes && st->body->received() + len > p.limits_.max_body_bytes) {
      p.stats_.add(Stats::kBodyTooLarge);
      p.give_up(*st, 413, BodyError::kTooLarge);
      p.discard(*st, len);
      return 0;
    }
    if (!st->body->push(std::string(reinterpret_cast<const char*>(data), len))) {
      p.discard(*st, len);  // its reader aborted
      return 0;
    }
    st->unconsumed += len;
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& p = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    auto* st = p.find(frame->hd.stream_id);
    if (!st) return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      p.dispatch(*st, end);
      return 0;
    }
    if (!end || !st->dispatched || st->request_done) return 0;
    st->request_done = true;
    if (st->trailers_too_large) {
      p.stats_.add(Stats::kHeaderTooLarge);
      p.give_up(*st, 431, BodyError::kTooLarge);
      return 0;
    }
    if (st->body && !st->discarding) st->body->finish(std::move(st->trailers));
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user) {
    auto& p = self(user);
    auto it = p.streams_.find(stream_id);
    if (it == p.streams_.end()) return 0;
    auto& st = *it->second;
    // Reset while its handler runs: the work continues, so it still counts.
    if (st.handler) p.orphans_.insert(stream_id);
    error_code why;
    if (!st.request_done) why = make_error_code(st.fail_code);
    p.release_body(st, why, false);
    if (st.out) {
      st.out->on_readable({});
      st.out->on_consumed({});
      st.out->abort(make_error_code(BodyError::kReset));  // a waiting write() fails
    }
    p.streams_.erase(it);
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& p = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      auto code = frame->goaway.error_code;
      if (code != NGHTTP2_NO_ERROR && code != NGHTTP2_ENHANCE_YOUR_CALM)
        p.stats_.add(Stats::kH2ProtocolErrors);
      return 0;
    }
    auto* st = p.find(frame->hd.stream_id);
    if (!st) return 0;
    if (frame->hd.type == NGHTTP2_RST_STREAM && !st->closing) {
      // nghttp2 reset the stream itself: a malformed request, e.g. DATA
      // beyond its content-length or END_STREAM short of it (RFC 9113 §8.1.1).
      bool malformed = frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR;
      if (malformed) p.stats_.add(Stats::kBadRequests);
      p.fail_stream(*st, malformed ? BodyError::kProtocol : BodyError::kReset);
      return 0;
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      st->flushed = true;
      // An answer given before the request ended (408): end the stream so
      // it no longer counts as open (RFC 9113 §8.1 allows RST_STREAM(NO_ERROR)).
      if (!st->request_done && st->reset_after_response)
        p.reset_stream(*st, NGHTTP2_NO_ERROR, BodyError::kTimeout);
    }
    return 0;
  }

  // A whole response body (respond()).
  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* st = static_cast<Stream*>(source->ptr);
    auto& body = st->response.body;
    std::size_t n = std::min(length, body.size() - st->body_offset);
    std::memcpy(buf, body.data() + st->body_offset, n);
    st->body_offset += n;
    st->progress = Clock::now();
    if (st->body_offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // A streamed response body (send_head()): what the handler has written
  // so far; DEFERRED while it is empty (on_readable resumes it).
  static ssize_t read_stream(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                             std::size_t length, std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* st = static_cast<Stream*>(source->ptr);
    if (!st->out || st->closing) return NGHTTP2_ERR_DEFERRED;  // its RST_STREAM goes first
    auto& out = *st->out;
    std::size_t n = out.take({buf, length});
    if (n) st->progress = Clock::now();
    if (out.done()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      st->response_ended = true;
      if (!out.trailers().empty()) {
        FieldList fields;
        fields.add_fields(out.trailers(), true);
        if (fields.size() && nghttp2_submit_trailer(session, stream_id, fields.data(), fields.size()) == 0)
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
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

H2ServerProtocol::H2ServerProtocol(boost::asio::any_io_executor executor, const Limits& limits, Stats& stats,
                                   core::Endpoint remote, bool secure)
    : executor_(std::move(executor)),
      limits_(limits),
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
  // WINDOW_UPDATE only for bytes a handler took from its request Body
  // (nghttp2_session_consume in the Body's on_consumed hook).
  nghttp2_option_set_no_auto_window_update(opt, 1);

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
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // RFC 8441 (WebSocket over HTTP/2)
  };
  nghttp2_submit_settings(session_->s, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  auto window = static_cast<std::int32_t>(std::min<std::uint64_t>(limits.connection_window_size, INT32_MAX));
  if (window > 65535) nghttp2_session_set_local_window_size(session_->s, NGHTTP2_FLAG_NONE, 0, window);
}

H2ServerProtocol::~H2ServerProtocol() {
  close();
}

H2ServerProtocol::Stream* H2ServerProtocol::find(std::int32_t id) {
  if (closed_) return nullptr;
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

const H2ServerProtocol::Stream* H2ServerProtocol::find(std::int32_t id) const {
  if (closed_) return nullptr;
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
  if (failed_ || closed_) return false;
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
  if (closed_) return {};
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
  return !failed_ && !closed_ && nghttp2_session_want_read(session_->s);
}
bool H2ServerProtocol::wants_write() const {
  return !closed_ && nghttp2_session_want_write(session_->s);
}

std::vector<std::pair<std::int32_t, ServerRequest>> H2ServerProtocol::take_requests() {
  return std::exchange(ready_, {});
}

// The header block of a request is complete: answer it here (431, 400,
// 413 by Content-Length) or hand it to a handler with a Body that DATA
// frames will feed.
void H2ServerProtocol::dispatch(Stream& st, bool end) {
  auto now = Clock::now();
  st.dispatched = true;
  st.request_done = end;
  st.head_done = st.progress = now;
  auto answer = [&](int status) {
    st.discarding = true;
    respond_internal(st, Response::text(status, reason_phrase(status)), false);
  };
  if (st.reject_status == 431) {
    stats_.add(Stats::kHeaderTooLarge);
    answer(431);
    return;
  }
  stats_.add(Stats::kRequestsHttp2);
  if (st.head.method.empty()) {
    stats_.add(Stats::kBadRequests);
    answer(400);
    return;
  }
  auto length = content_length(st.head.headers);
  if (limits_.max_body_bytes && length && *length > limits_.max_body_bytes) {
    stats_.add(Stats::kBodyTooLarge);
    answer(413);
    return;
  }
  if (!end) {
    auto expect = st.head.headers.get("expect");
    if (expect && iequals(*expect, "100-continue")) {
      nghttp2_nv nv{const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(":status")),
                    const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>("100")), 7, 3,
                    NGHTTP2_NV_FLAG_NONE};
      nghttp2_submit_headers(session_->s, NGHTTP2_FLAG_NONE, st.id, nullptr, &nv, 1, nullptr);
    }
  }
  st.head_request = st.head.method == "HEAD";
  st.connect = st.head.method == "CONNECT";
  // Plain CONNECT names its destination in :authority only; the target is
  // that authority, as in HTTP/1.1's authority-form.
  if (st.connect && st.head.protocol.empty() && st.head.target.empty()) st.head.target = st.head.authority;

  ServerRequest request;
  static_cast<RequestHead&>(request) = std::move(st.head);
  if (end) {
    request.body = Body::complete(executor_);
  } else {
    auto body = std::make_shared<Body>(executor_, limits_.initial_window_size);
    auto id = st.id;
    body->on_consumed([this, id](std::size_t n) {
      auto* s = find(id);
      if (!s) return;
      auto k = std::min<std::uint64_t>(n, s->unconsumed);
      s->unconsumed -= k;
      s->progress = Clock::now();
      if (k) nghttp2_session_consume(session_->s, id, k);
      notify();
    });
    body->on_abort([this, id](error_code why) {
      auto* s = find(id);
      if (!s) return;
      release_body(*s, {});  // its buffered bytes were dropped: their window opens
      if (!s->request_done && !s->closing) {
        if (why == BodyError::kTooLarge && !s->responded) {
          s->discarding = true;  // an answer (413) follows; the rest of the body is dropped
        } else {
          reset_stream(*s, NGHTTP2_CANCEL, BodyError::kAborted);
        }
      }
      notify();
    });
    st.body = body;
    request.body = std::move(body);
  }
  st.handler = true;
  ++handlers_running_;
  ready_.emplace_back(st.id, std::move(request));
}

// Lets go of the request body: no more hooks into this object, its
// buffered bytes given back as window, and failed with `fail_with` if set.
void H2ServerProtocol::release_body(Stream& st, error_code fail_with, bool stream_alive) {
  if (!st.body) return;
  auto body = std::move(st.body);
  body->on_consumed({});
  body->on_abort({});
  if (fail_with) body->fail(fail_with);
  if (st.unconsumed) {
    if (stream_alive) {
      nghttp2_session_consume(session_->s, st.id, st.unconsumed);
    } else {
      nghttp2_session_consume_connection(session_->s, st.unconsumed);
    }
    st.unconsumed = 0;
  }
}

// Request bytes nobody will read: their window opens at once. After an
// early answer, some clients (curl 7.88) treat an immediate
// RST_STREAM(NO_ERROR) as a failure, so reset only when the peer keeps
// sending another body's worth.
void H2ServerProtocol::discard(Stream& st, std::size_t len) {
  nghttp2_session_consume(session_->s, st.id, len);
  st.discarded += len;
  if (st.discarded > std::max<std::size_t>(limits_.max_body_bytes, kMaxDiscard) && !st.closing)
    reset_stream(st, NGHTTP2_NO_ERROR, BodyError::kReset);
}

// The stream ends early: the request body (if still open) fails with
// `why`, a response body being written fails too.
void H2ServerProtocol::fail_stream(Stream& st, BodyError why) {
  if (st.closing) return;
  st.closing = true;
  st.fail_code = why;
  release_body(st, st.request_done ? error_code{} : make_error_code(why));
  if (st.out) {
    st.out->on_readable({});
    st.out->on_consumed({});
    st.out->abort(make_error_code(why));
  }
}

void H2ServerProtocol::reset_stream(Stream& st, std::uint32_t error_code, BodyError why) {
  if (st.closing) return;
  fail_stream(st, why);
  nghttp2_submit_rst_stream(session_->s, NGHTTP2_FLAG_NONE, st.id, error_code);
}

// A limit fired on a stream whose handler may be running: the request body
// fails with `why`; `status` answers if no response started, else
// RST_STREAM(CANCEL).
void H2ServerProtocol::give_up(Stream& st, int status, BodyError why) {
  if (st.closing) return;
  release_body(st, make_error_code(why));
  if (st.responded) {
    reset_stream(st, NGHTTP2_CANCEL, why);
    return;
  }
  st.discarding = true;
  st.fail_code = why;
  st.reset_after_response = status == 408;
  respond_internal(st, Response::text(status, reason_phrase(status)), st.head_request);
}

void H2ServerProtocol::handler_finished(std::int32_t id) {
  if (handlers_running_) --handlers_running_;
  if (orphans_.erase(id)) return;
  auto* st = find(id);
  if (!st) return;
  st->handler = false;
  if (!st->closing) {
    if (!st->responded) {
      respond_internal(*st, Response::text(500, reason_phrase(500)), st->head_request);
    } else if (st->out && !st->out->ended()) {
      reset_stream(*st, NGHTTP2_INTERNAL_ERROR, BodyError::kReset);  // a body that was never finished
    }
  }
  // Nobody reads the request body any more.
  release_body(*st, st->request_done ? error_code{} : make_error_code(BodyError::kAborted));
  if (!st->request_done) st->discarding = true;
  notify();
}

H2ServerProtocol::ResponseState H2ServerProtocol::response_state(std::int32_t id) const {
  const auto* st = find(id);
  if (!st || st->closing) return ResponseState::kGone;
  if (st->response_ended) return ResponseState::kEnded;
  if (st->responded) return ResponseState::kHeadSent;
  return ResponseState::kNone;
}

error_code H2ServerProtocol::send_interim(std::int32_t id, const ResponseHead& head) {
  auto* st = find(id);
  if (!st || st->closing) return make_error_code(BodyError::kReset);
  if (st->responded) return boost::asio::error::already_started;
  if (head.status < 100 || head.status > 199 || head.status == 101)
    return boost::asio::error::invalid_argument;
  FieldList fields;
  auto status = status_text(head.status);
  fields.add(":status", status);
  fields.add_fields(head.headers, false);
  if (nghttp2_submit_headers(session_->s, NGHTTP2_FLAG_NONE, id, nullptr, fields.data(), fields.size(),
                             nullptr) != 0)
    return make_error_code(BodyError::kReset);
  notify();
  return {};
}

error_code H2ServerProtocol::send_head(std::int32_t id, const ResponseHead& head,
                                       std::shared_ptr<Body> body) {
  auto* st = find(id);
  if (!st || st->closing) return make_error_code(BodyError::kReset);
  if (st->responded) return boost::asio::error::already_started;
  int status = valid_status(head.status);
  if (status < 200) return boost::asio::error::invalid_argument;
  bool tunnel = st->connect && status < 300;
  // Content-Length as the handler set it, except where none may be sent
  // (204, 1xx; a 2xx to CONNECT, RFC 9110 §9.3.6).
  bool keep_length = (status_has_body(status) || status == 304 || st->head_request) && !tunnel;
  if (!status_has_body(status) || st->head_request) body.reset();
  FieldList fields;
  auto text = status_text(status);
  fields.add(":status", text);
  fields.add_fields(head.headers, keep_length);
  st->responded = true;
  st->tunnel = tunnel;
  int rv;
  if (body) {
    st->out = body;
    body->on_readable([this, id] {
      auto* s = find(id);
      if (!s) return;
      if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(session_->s, id);
      }
      notify();
    });
    body->on_consumed([this, id](std::size_t) {
      if (auto* s = find(id)) s->progress = Clock::now();
    });
    nghttp2_data_provider provider{};
    provider.source.ptr = st;
    provider.read_callback = Callbacks::read_stream;
    rv = nghttp2_submit_response(session_->s, id, fields.data(), fields.size(), &provider);
  } else {
    st->response_ended = true;
    rv = nghttp2_submit_response(session_->s, id, fields.data(), fields.size(), nullptr);
  }
  if (rv != 0) {
    reset_stream(*st, NGHTTP2_INTERNAL_ERROR, BodyError::kReset);
    return make_error_code(BodyError::kReset);
  }
  notify();
  return {};
}

void H2ServerProtocol::respond(std::int32_t id, Response response, bool head_request) {
  auto* st = find(id);
  if (!st || st->responded || st->closing) return;
  respond_internal(*st, std::move(response), head_request);
  notify();
}

void H2ServerProtocol::respond_internal(Stream& st, Response response, bool head_request) {
  st.responded = true;
  st.response_ended = true;
  st.response = std::move(response);
  int status = valid_status(st.response.status);
  st.tunnel = st.connect && status >= 200 && status < 300;
  FieldList fields;
  auto text = status_text(status);
  fields.add(":status", text);
  fields.add_fields(st.response.headers, false);
  bool has_body = status_has_body(status);
  if (has_body && !st.tunnel) fields.add("content-length", std::to_string(st.response.body.size()));
  if (has_body && !head_request && !st.response.body.empty()) {
    nghttp2_data_provider provider{};
    provider.source.ptr = &st;
    provider.read_callback = Callbacks::read_body;
    nghttp2_submit_response(session_->s, st.id, fields.data(), fields.size(), &provider);
  } else {
    nghttp2_submit_response(session_->s, st.id, fields.data(), fields.size(), nullptr);
  }
}

void H2ServerProtocol::reset(std::int32_t id, std::uint32_t error_code) {
  auto* st = find(id);
  if (!st) return;
  reset_stream(*st, error_code, BodyError::kReset);
  notify();
}

void H2ServerProtocol::shutdown_notice() {
  if (failed_ || closed_) return;
  nghttp2_submit_goaway(session_->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_->s),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

void H2ServerProtocol::announce_shutdown() {
  if (failed_ || closed_) return;
  nghttp2_submit_shutdown_notice(session_->s);
}

void H2ServerProtocol::terminate(std::uint32_t error_code) {
  if (closed_) return;
  nghttp2_session_terminate_session(session_->s, error_code);
}

void H2ServerProtocol::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [id, st] : streams_) {
    release_body(*st, st->request_done ? error_code{} : make_error_code(BodyError::kReset), false);
    if (st->out) {
      st->out->on_readable({});
      st->out->on_consumed({});
      st->out->abort(make_error_code(BodyError::kReset));
    }
  }
  ready_.clear();
}

// When a stream's next limit fires: request_timeout until its head is
// complete, then body_timeout until END_STREAM (not for tunnels), and
// stream_idle_timeout while a body is moving in either direction.
H2ServerProtocol::Clock::time_point H2ServerProtocol::deadline_of(const Stream& st) const {
  auto never = Clock::time_point::max();
  if (st.closing) return never;
  if (!st.dispatched) return st.opened + limits_.request_timeout;
  auto at = never;
  if (!st.request_done && !st.tunnel && limits_.body_timeout.count() > 0)
    at = std::min(at, st.head_done + limits_.body_timeout);
  bool moving = !st.request_done || (st.responded && !st.flushed);
  if (moving && limits_.stream_idle_timeout.count() > 0)
    at = std::min(at, st.progress + limits_.stream_idle_timeout);
  return at;
}

void H2ServerProtocol::expire(Clock::time_point now) {
  if (closed_) return;
  std::vector<Stream*> late;
  for (auto& [id, st] : streams_) {
    if (deadline_of(*st) <= now) late.push_back(st.get());
  }
  for (auto* st : late) {
    if (!st->dispatched) {
      stats_.add(Stats::kRequestTimeouts);
      st->dispatched = true;
      st->discarding = true;
      st->reset_after_response = true;
      respond_internal(*st, Response::text(408, "Request Timeout"), false);
    } else if (!st->responded) {
      stats_.add(Stats::kRequestTimeouts);
      give_up(*st, 408, BodyError::kTimeout);
    } else {
      stats_.add(Stats::kH2StreamTimeouts);
      reset_stream(*st, NGHTTP2_CANCEL, BodyError::kTimeout);
    }
  }
}

H2ServerProtocol::Clock::time_point H2ServerProtocol::next_deadline() const {
  auto next = Clock::time_point::max();
  if (closed_) return next;
  for (auto& [id, st] : streams_) next = std::min(next, deadline_of(*st));
  return next;
}

}  // namespace basalt::http
