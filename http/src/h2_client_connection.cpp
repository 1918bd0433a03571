#include "h2_client_connection.hpp"

#include "h1_response_writer.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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

struct Pending {
  explicit Pending(const asio::any_io_executor& ex) : signal(ex) {}
  asio::steady_timer signal;
  Response response;
  bool done = false;
  bool body_started = false;
  error_code error;
  std::string detail;
  std::string request_body;
  std::size_t offset = 0;
  std::size_t header_bytes = 0;
  void finish(error_code ec = {}) {
    if (done) return;
    done = true;
    if (!error) error = ec;
    signal.cancel();
  }
};

}  // namespace

struct H2ClientConnection::Impl {
  Impl(std::unique_ptr<Transport> t, const ClientOptions& o)
      : transport(std::move(t)), options(o), wake(transport->socket().get_executor()) {}

  std::unique_ptr<Transport> transport;
  const ClientOptions& options;
  nghttp2_session* session = nullptr;
  asio::steady_timer wake;
  std::unordered_map<std::int32_t, std::shared_ptr<Pending>> streams;
  bool closed = false;
  bool goaway = false;

  static Impl& self(void* p) { return *static_cast<Impl*>(p); }
  Pending* find(std::int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }

  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                       void* user) {
    auto& c = self(user);
    auto* p = c.find(frame->hd.stream_id);
    if (!p || p->body_started) return 0;  // trailers are ignored
    p->header_bytes += namelen + valuelen + 32;
    if (p->header_bytes > c.options.max_response_header_bytes) {
      p->error = ClientError::kResponseTooLarge;
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_CANCEL);
      return 0;
    }
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      int status = 0;
      std::from_chars(v.data(), v.data() + v.size(), status);
      p->response.status = status;
      p->response.headers.clear();  // an interim (1xx) response's fields do not carry over
      return 0;
    }
    if (!n.empty() && n[0] == ':') return 0;
    p->response.headers.add(n, v);
    return 0;
  }

  static int on_data_chunk(nghttp2_session* s, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                           std::size_t len, void* user) {
    auto& c = self(user);
    auto* p = c.find(id);
    if (!p || p->error) return 0;
    p->body_started = true;
    if (p->response.body.size() + len > c.options.max_response_body_bytes) {
      p->error = ClientError::kResponseTooLarge;
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      return 0;
    }
    p->response.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) c.goaway = true;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      auto* p = c.find(frame->hd.stream_id);
      if (p && p->response.status >= 200) p->body_started = true;  // later HEADERS are trailers
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
    auto& c = self(user);
    auto it = c.streams.find(id);
    if (it == c.streams.end()) return 0;
    auto p = it->second;
    c.streams.erase(it);
    if (code != NGHTTP2_NO_ERROR && !p->error) {
      p->detail = std::string("stream reset: ") + nghttp2_http2_strerror(code);
      p->finish(ClientError::kProtocolError);
    } else {
      p->finish();
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* p = static_cast<Pending*>(source->ptr);
    std::size_t n = std::min(length, p->request_body.size() - p->offset);
    std::memcpy(buf, p->request_body.data() + p->offset, n);
    p->offset += n;
    if (p->offset == p->request_body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  void fail_all(ClientError e) {
    auto all = std::move(streams);
    streams.clear();
    for (auto& [id, p] : all) p->finish(e);
  }

  asio::awaitable<void> reader(std::shared_ptr<H2ClientConnection> keep) {
    std::array<std::uint8_t, 16 * 1024> buf;
    while (!closed && nghttp2_session_want_read(session)) {
      error_code ec;
      auto n = co_await transport->read_some(asio::buffer(buf), ec);
      if (ec) break;
      if (nghttp2_session_mem_recv(session, buf.data(), n) < 0) break;
      wake.cancel();
    }
    closed = true;
    transport->close();
    fail_all(ClientError::kConnectionClosed);
    wake.cancel();
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
    closed = true;
    transport->close();
    fail_all(ClientError::kConnectionClosed);
    (void)keep;
  }
};

H2ClientConnection::H2ClientConnection(std::unique_ptr<Transport> transport, const ClientOptions& options)
    : impl_(std::make_unique<Impl>(std::move(transport), options)) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Impl::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Impl::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Impl::on_stream_close);
  nghttp2_session_client_new(&impl_->session, cbs, impl_.get());
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1024 * 1024},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(options.max_response_header_bytes, UINT32_MAX))},
  };
  nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(impl_->session, NGHTTP2_FLAG_NONE, 0, 4 * 1024 * 1024);
}

H2ClientConnection::~H2ClientConnection() {
  if (impl_->session) nghttp2_session_del(impl_->session);
}

void H2ClientConnection::start() {
  auto ex = impl_->transport->socket().get_executor();
  asio::co_spawn(ex, impl_->reader(shared_from_this()), asio::detached);
  asio::co_spawn(ex, impl_->writer(shared_from_this()), asio::detached);
}

bool H2ClientConnection::usable() const {
  return !impl_->closed && !impl_->goaway &&
         impl_->streams.size() <
             nghttp2_session_get_remote_settings(impl_->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool H2ClientConnection::idle() const {
  return impl_->streams.empty();
}

void H2ClientConnection::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  nghttp2_session_terminate_session(impl_->session, NGHTTP2_NO_ERROR);
  impl_->transport->close();
  impl_->wake.cancel();
}

asio::awaitable<ClientResult> H2ClientConnection::request(const ClientRequest& request,
                                                          const RequestTarget& target,
                                                          Clock::time_point deadline) {
  auto keep = shared_from_this();
  auto& c = *impl_;
  last_used_ = Clock::now();
  auto p = std::make_shared<Pending>(c.transport->socket().get_executor());
  p->request_body = request.body;

  std::vector<std::string> names;
  names.reserve(request.headers.size());
  std::vector<nghttp2_nv> nva;
  auto nv = [](std::string_view n, std::string_view v) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  nva.push_back(nv(":method", request.method));
  nva.push_back(nv(":scheme", target.scheme));
  nva.push_back(nv(":authority", target.authority));
  nva.push_back(nv(":path", target.path));
  for (auto& f : request.headers) {
    if (is_connection_specific(f.name) || iequals(f.name, "host") || iequals(f.name, "content-length"))
      continue;
    std::string lower = f.name;
    for (auto& ch : lower) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
    names.push_back(std::move(lower));
    nva.push_back(nv(names.back(), f.value));
  }
  std::string length = std::to_string(request.body.size());
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT")
    nva.push_back(nv("content-length", length));

  nghttp2_data_provider provider{};
  provider.source.ptr = p.get();
  provider.read_callback = Impl::read_body;
  auto id = nghttp2_submit_request(c.session, nullptr, nva.data(), nva.size(),
                                   request.body.empty() ? nullptr : &provider, nullptr);
  ClientResult result;
  result.version = Version::http2;
  if (id < 0) {
    result.error = ClientError::kProtocolError;
    result.detail = nghttp2_strerror(id);
    co_return result;
  }
  c.streams[id] = p;
  c.wake.cancel();
  p->signal.expires_at(deadline);
  error_code ec;
  co_await p->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!p->done) {
    // The stream stays registered (its body may still be read) until
    // nghttp2 reports it closed after our RST_STREAM.
    p->done = true;
    p->error = ClientError::kTimeout;
    if (!c.closed) {
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      c.wake.cancel();
    }
    result.error = ClientError::kTimeout;
    co_return result;
  }
  last_used_ = Clock::now();
  if (p->error) {
    result.error = p->error;
    result.detail = p->detail;
    co_return result;
  }
  if (p->response.status < 200) {
    result.error = ClientError::kProtocolError;
    result.detail = "no final response";
    co_return result;
  }
  result.response = std::move(p->response);
  co_return result;
}

}  // namespace basalt::http
