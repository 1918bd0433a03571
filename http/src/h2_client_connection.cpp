#include "h2_client_connection.hpp"

#include "h1_response_writer.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cstring>
#include <unordered_map>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

struct Stream {
  explicit Stream(const asio::any_io_executor& ex) : signal(ex) {}
  std::int32_t id = 0;
  asio::steady_timer signal;  // the head arrived or the stream failed
  ResponseHead head;
  bool head_done = false;
  std::size_t header_bytes = 0;
  Headers trailers;
  std::shared_ptr<Body> response;
  std::uint64_t unconsumed = 0;  // pushed into `response`, not yet consumed by the caller
  std::shared_ptr<Body> upload;  // streamed request body
  std::string fixed;             // buffered request body
  std::size_t offset = 0;
  std::uint64_t upload_taken = 0;
  error_code error;
  std::string detail;
  bool refused = false;
  bool closed = false;
  void wake() { signal.cancel(); }
};

nghttp2_nv make_nv(std::string_view n, std::string_view v) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct H2ClientConnection::Impl {
  Impl(std::unique_ptr<Transport> t, const ClientOptions& o, std::function<void()> f)
      : transport(std::move(t)),
        options(o),
        on_change(std::move(f)),
        wake(transport->socket().get_executor()) {}

  std::unique_ptr<Transport> transport;
  ClientOptions options;
  std::function<void()> on_change;
  nghttp2_session* session = nullptr;
  asio::steady_timer wake;  // the writer waits on it
  // Extended CONNECTs waiting for the server's SETTINGS.
  std::vector<std::shared_ptr<asio::steady_timer>> settings_waiters;
  void settings_arrived() {
    for (auto& w : settings_waiters) w->cancel();
    settings_waiters.clear();
  }
  std::unordered_map<std::int32_t, std::shared_ptr<Stream>> streams;
  Clock::time_point created = Clock::now();
  std::size_t opened = 0;
  bool closed = false;
  bool goaway = false;
  bool settings_received = false;

  static Impl& self(void* p) { return *static_cast<Impl*>(p); }
  Stream* find(std::int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }
  void changed() {
    if (on_change) asio::post(transport->socket().get_executor(), on_change);
  }

  // Gives the caller's unread bytes of a failed or abandoned body back to
  // the connection window (the stream's is gone with the stream).
  void release_window(Stream& s) {
    if (s.unconsumed == 0) return;
    if (!closed) nghttp2_session_consume_connection(session, s.unconsumed);
    s.unconsumed = 0;
    wake.cancel();
  }

  void end_upload(Stream& s) {
    if (!s.upload) return;
    s.upload->on_readable(nullptr);
    if (!s.upload->done()) s.upload->abort(make_error_code(BodyError::kReset));
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                       void* user) {
    auto& c = self(user);
    auto* s = c.find(frame->hd.stream_id);
    if (!s || s->error) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (s->head_done) {
      if (!n.empty() && n[0] != ':') s->trailers.add(n, v);
      return 0;
    }
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > c.options.max_response_header_bytes) {
      s->error = ClientError::kResponseTooLarge;
      s->detail = "response head over max_response_header_bytes";
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_CANCEL);
      s->wake();
      return 0;
    }
    if (n == ":status") {
      int status = 0;
      std::from_chars(v.data(), v.data() + v.size(), status);
      s->head.status = status;
      s->head.headers.clear();  // an interim (1xx) response's fields do not carry over
      return 0;
    }
    if (!n.empty() && n[0] == ':') return 0;
    s->head.headers.add(n, v);
    return 0;
  }

  void head_complete(Stream& s, const std::shared_ptr<H2ClientConnection>& conn) {
    s.head_done = true;
    s.response = std::make_shared<Body>(transport->socket().get_executor(), options.initial_window_size);
    std::weak_ptr<H2ClientConnection> w = conn;
    auto id = s.id;
    s.response->on_consumed([w, id](std::size_t n) {
      auto c = w.lock();
      if (!c || c->impl_->closed) return;
      auto& m = *c->impl_;
      if (auto* st = m.find(id)) st->unconsumed -= std::min<std::uint64_t>(st->unconsumed, n);
      nghttp2_session_consume(m.session, id, n);
      m.wake.cancel();
    });
    s.response->on_abort([w, id](error_code) {
      auto c = w.lock();
      if (!c || c->impl_->closed) return;
      auto& m = *c->impl_;
      auto* st = m.find(id);
      if (!st) return;
      nghttp2_session_consume(m.session, id, st->unconsumed);
      st->unconsumed = 0;
      nghttp2_submit_rst_stream(m.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      m.wake.cancel();
    });
    s.wake();
  }

  std::weak_ptr<H2ClientConnection> owner;

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    switch (frame->hd.type) {
      case NGHTTP2_GOAWAY:
        c.goaway = true;
        c.changed();
        return 0;
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
          c.settings_received = true;
          c.settings_arrived();
          c.changed();
        }
        return 0;
      case NGHTTP2_HEADERS: {
        auto* s = c.find(frame->hd.stream_id);
        if (!s || s->error) return 0;
        if (!s->head_done) {
          if (s->head.status < 200) return 0;  // interim
          if (auto conn = c.owner.lock()) c.head_complete(*s, conn);
        }
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && s->response)
          s->response->finish(std::move(s->trailers));
        return 0;
      }
      case NGHTTP2_DATA: {
        auto* s = c.find(frame->hd.stream_id);
        if (s && s->response && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) s->response->finish();
        return 0;
      }
      default:
        return 0;
    }
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                           std::size_t len, void* user) {
    auto& c = self(user);
    auto* s = c.find(id);
    if (s && s->response && s->response->push(std::string_view(reinterpret_cast<const char*>(data), len))) {
      s->unconsumed += len;
      return 0;
    }
    nghttp2_session_consume(session, id, len);  // nobody will read it
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
    auto& c = self(user);
    auto it = c.streams.find(id);
    if (it == c.streams.end()) return 0;
    auto s = it->second;
    c.streams.erase(it);
    s->closed = true;
    if (!s->head_done) {
      if (!s->error) {
        s->refused = code == NGHTTP2_REFUSED_STREAM;
        s->error =
            code == NGHTTP2_REFUSED_STREAM ? ClientError::kConnectionClosed : ClientError::kProtocolError;
        s->detail = std::string("stream closed before the response: ") + nghttp2_http2_strerror(code);
      }
      s->wake();  // open() decides about the upload (it may be retried)
    } else {
      if (!s->response->ended()) {
        c.release_window(*s);
        s->response->fail(make_error_code(BodyError::kReset));
      }
      c.end_upload(*s);
    }
    c.changed();
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* s = static_cast<Stream*>(source->ptr);
    if (!s->upload) {
      std::size_t n = std::min(length, s->fixed.size() - s->offset);
      std::memcpy(buf, s->fixed.data() + s->offset, n);
      s->offset += n;
      if (s->offset == s->fixed.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    if (s->upload->error()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the caller failed it: reset
    std::size_t n = s->upload->take(std::span<std::uint8_t>(buf, length));
    s->upload_taken += n;
    if (s->upload->done()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      auto& trailers = s->upload->trailers();
      if (!trailers.empty()) {
        std::vector<std::string> names;
        std::vector<nghttp2_nv> nva;
        names.reserve(trailers.size());
        for (auto& f : trailers) {
          if (is_connection_specific(f.name)) continue;
          names.push_back(f.name);
          for (auto& ch : names.back()) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
          nva.push_back(make_nv(names.back(), f.value));
        }
        if (nghttp2_submit_trailer(session, id, nva.data(), nva.size()) == 0)
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) return NGHTTP2_ERR_DEFERRED;  // resumed by the Body's on_readable
    return static_cast<ssize_t>(n);
  }

  void fail_all() {
    auto all = std::move(streams);
    streams.clear();
    for (auto& [id, s] : all) {
      s->closed = true;
      if (!s->head_done) {
        if (!s->error) {
          s->error = ClientError::kConnectionClosed;
          s->detail = "the connection closed";
        }
        s->wake();
      } else {
        if (!s->response->ended()) {
          s->unconsumed = 0;
          s->response->fail(make_error_code(BodyError::kReset));
        }
        end_upload(*s);
      }
    }
    settings_arrived();
  }

  void shut() {
    if (!closed) {
      closed = true;
      transport->close();
    }
    fail_all();
    wake.cancel();
    changed();
  }

  asio::awaitable<void> reader(std::shared_ptr<H2ClientConnection> keep) {
    std::array<std::uint8_t, 16 * 1024> buf;
    while (!closed && nghttp2_session_want_read(session)) {
      error_code ec;
      auto n = co_await transport->read_some(asio::buffer(buf), ec);
      if (ec || closed) break;
      if (nghttp2_session_mem_recv(session, buf.data(), n) < 0) break;
      wake.cancel();
    }
    shut();
    (void)keep;
  }

  asio::awaitable<void> writer(std::shared_ptr<H2ClientConnection> keep) {
    std::vector<std::uint8_t> out;
    while (!closed) {
      out.clear();
      for (;;) {
        const std::uint8_t* data = nullptr;
        auto n = nghttp2_session_mem_send(session, &data);
        if (n <= 0) break;
        out.insert(out.end(), data, data + n);
        if (out.size() >= 64 * 1024) break;
      }
      if (!out.empty()) {
        error_code ec;
        co_await transport->write(asio::buffer(out), ec);
        if (ec) break;
        continue;
      }
      if (!nghttp2_session_want_read(session) && !nghttp2_session_want_write(session)) break;
      wake.expires_at(Clock::time_point::max());
      error_code ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    shut();
    (void)keep;
  }
};

H2ClientConnection::H2ClientConnection(std::unique_ptr<Transport> transport, const ClientOptions& options,
                                       std::function<void()> on_change)
    : impl_(std::make_unique<Impl>(std::move(transport), options, std::move(on_change))) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Impl::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Impl::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Impl::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // WINDOW_UPDATE only for what the caller consumed (Body::on_consumed).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // Until the server's SETTINGS arrive, assume the RFC's recommended minimum.
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
  nghttp2_session_client_new2(&impl_->session, cbs, impl_.get(), opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
       std::min<std::uint32_t>(options.initial_window_size, (1u << 31) - 1)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(options.max_response_header_bytes, UINT32_MAX))},
  };
  nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(
      impl_->session, NGHTTP2_FLAG_NONE, 0,
      static_cast<std::int32_t>(std::min<std::uint32_t>(options.connection_window_size, (1u << 31) - 1)));
}

H2ClientConnection::~H2ClientConnection() {
  if (impl_->session) nghttp2_session_del(impl_->session);
}

void H2ClientConnection::start() {
  impl_->owner = weak_from_this();
  auto ex = impl_->transport->socket().get_executor();
  asio::co_spawn(ex, impl_->reader(shared_from_this()), asio::detached);
  asio::co_spawn(ex, impl_->writer(shared_from_this()), asio::detached);
}

bool H2ClientConnection::accepts_stream() const {
  auto& c = *impl_;
  if (c.closed || c.goaway) return false;
  if (c.options.max_requests_per_connection && c.opened >= c.options.max_requests_per_connection)
    return false;
  if (c.options.max_connection_age.count() > 0 && Clock::now() - c.created >= c.options.max_connection_age)
    return false;
  return c.streams.size() <
         nghttp2_session_get_remote_settings(c.session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool H2ClientConnection::idle() const {
  return impl_->streams.empty();
}

bool H2ClientConnection::closed() const {
  return impl_->closed;
}

void H2ClientConnection::close() {
  auto& c = *impl_;
  if (c.closed) return;
  nghttp2_session_terminate_session(c.session, NGHTTP2_NO_ERROR);
  c.closed = true;
  c.transport->close();
  c.wake.cancel();
  c.settings_arrived();
}

asio::awaitable<ClientStream> H2ClientConnection::open(const ClientRequest& request,
                                                       const RequestTarget& target,
                                                       Clock::time_point deadline, bool& retry) {
  auto keep = shared_from_this();
  auto& c = *impl_;
  retry = false;
  ClientStream out;
  out.version = Version::http2;
  const bool extended_connect = !request.protocol.empty();
  if (extended_connect) {
    // RFC 8441 §3: only once the server announced SETTINGS_ENABLE_CONNECT_PROTOCOL.
    if (!c.settings_received && !c.closed) {
      auto w = std::make_shared<asio::steady_timer>(c.transport->socket().get_executor(), deadline);
      c.settings_waiters.push_back(w);
      error_code ec;
      co_await w->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!c.settings_received) {
      out.error = c.closed ? ClientError::kConnectionClosed : ClientError::kTimeout;
      co_return out;
    }
    if (nghttp2_session_get_remote_settings(c.session, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1) {
      out.error = ClientError::kNotSupported;
      out.detail = "the server did not announce SETTINGS_ENABLE_CONNECT_PROTOCOL";
      co_return out;
    }
  }
  if (c.closed) {
    out.error = ClientError::kConnectionClosed;
    retry = true;  // nothing was sent
    co_return out;
  }
  auto s = std::make_shared<Stream>(c.transport->socket().get_executor());
  s->upload = request.body_stream;
  if (!s->upload) s->fixed = request.body;

  std::vector<std::string> names;
  names.reserve(request.headers.size());
  std::vector<nghttp2_nv> nva;
  nva.push_back(make_nv(":method", request.method));
  if (extended_connect) nva.push_back(make_nv(":protocol", request.protocol));
  nva.push_back(make_nv(":scheme", target.scheme));
  nva.push_back(make_nv(":authority", target.host_header));
  nva.push_back(make_nv(":path", target.path));
  for (auto& f : request.headers) {
    if (is_connection_specific(f.name) || iequals(f.name, "host")) continue;
    if (iequals(f.name, "content-length") && !s->upload) continue;
    std::string lower = f.name;
    for (auto& ch : lower) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
    names.push_back(std::move(lower));
    nva.push_back(make_nv(names.back(), f.value));
  }
  std::string length = std::to_string(request.body.size());
  if (!s->upload && !extended_connect &&
      (!request.body.empty() || request.method == "POST" || request.method == "PUT"))
    nva.push_back(make_nv("content-length", length));

  nghttp2_data_provider provider{};
  provider.source.ptr = s.get();
  provider.read_callback = Impl::read_body;
  const bool has_body = s->upload || !s->fixed.empty();
  auto id = nghttp2_submit_request(c.session, nullptr, nva.data(), nva.size(), has_body ? &provider : nullptr,
                                   nullptr);
  if (id < 0) {
    out.error = ClientError::kProtocolError;
    out.detail = nghttp2_strerror(id);
    co_return out;
  }
  s->id = id;
  ++c.opened;
  c.streams[id] = s;
  if (s->upload) {
    s->upload->on_readable([w = weak_from_this(), id] {
      auto conn = w.lock();
      if (!conn || conn->impl_->closed) return;
      nghttp2_session_resume_data(conn->impl_->session, id);
      conn->impl_->wake.cancel();
    });
  }
  c.wake.cancel();

  while (!s->head_done && !s->error && !s->closed) {
    s->signal.expires_at(deadline);
    error_code ec;
    co_await s->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;  // the deadline
  }
  if (!s->head_done && !s->error && !s->closed) {
    // The stream stays registered until nghttp2 reports it closed after
    // our RST_STREAM.
    s->error = ClientError::kTimeout;
    if (!c.closed) {
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      c.wake.cancel();
    }
  }
  if (!s->head_done || s->error) {
    out.error = s->error ? s->error : make_error_code(ClientError::kConnectionClosed);
    out.detail = s->detail;
    retry = s->refused && s->upload_taken == 0;
    if (s->upload) {
      s->upload->on_readable(nullptr);
      if (!retry && !s->upload->done()) s->upload->abort(make_error_code(BodyError::kReset));
    }
    co_return out;
  }
  out.head = s->head;
  out.body = s->response;
  co_return out;
}

}  // namespace basalt::http
