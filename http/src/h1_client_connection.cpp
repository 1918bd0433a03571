#include "h1_client_connection.hpp"

#include "client_deadline.hpp"
#include "h1_response_reader.hpp"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <optional>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

enum class Framing { kNone, kFixed, kLength, kChunked, kTunnel };

void append_sanitised(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

std::string serialize_head(const ClientRequest& r, const RequestTarget& t, Framing framing) {
  std::string out;
  out.reserve(256 + r.headers.byte_size());
  out.append(r.method).append(" ");
  if (r.method == "CONNECT") {
    out.append(t.authority);  // authority-form (RFC 9112 §3.2.3)
  } else {
    out.append(t.path);
  }
  out.append(" HTTP/1.1\r\nHost: ").append(t.host_header).append("\r\n");
  for (auto& f : r.headers) {
    if (iequals(f.name, "host") || iequals(f.name, "transfer-encoding")) continue;
    if (iequals(f.name, "content-length") && framing != Framing::kLength) continue;
    append_sanitised(out, f.name);
    out.append(": ");
    append_sanitised(out, f.value);
    out.append("\r\n");
  }
  if (framing == Framing::kFixed ||
      (framing == Framing::kNone && (r.method == "POST" || r.method == "PUT"))) {
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  }
  if (framing == Framing::kChunked) out.append("Transfer-Encoding: chunked\r\n");
  out.append("\r\n");
  return out;
}

bool is_disconnect(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_aborted;
}

std::optional<std::uint64_t> content_length(const Headers& h) {
  auto v = h.get("content-length");
  if (!v) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

}  // namespace

// What the coroutines of one exchange share. The last part to finish
// (response, upload) hands the connection back.
struct H1ClientConnection::Exchange {
  Exchange(std::shared_ptr<H1ClientConnection> c, Release r, std::size_t max_header, bool no_body)
      : conn(std::move(c)),
        release(std::move(r)),
        reader(max_header, no_body),
        go(conn->transport_->socket().get_executor()) {}

  std::shared_ptr<H1ClientConnection> conn;
  Release release;
  ResponseReader reader;
  Framing framing = Framing::kNone;
  std::uint64_t length = 0;  // kLength
  std::string fixed_body;    // kFixed with Expect: 100-continue
  std::shared_ptr<Body> upload;
  std::shared_ptr<Body> response;
  bool expect_continue = false;
  bool continued = false;   // 100 Continue arrived
  bool final_head = false;  // the final head arrived
  bool response_over = false;
  asio::steady_timer go;  // wakes the sender waiting for 100 Continue
  int parts = 1;
  bool reusable = true;

  // One part ended; `failed` closes the connection at once (the other
  // part then fails too), `keep` false only forbids reuse.
  void part_done(bool failed, bool keep) {
    if (failed) conn->close();
    if (failed || !keep) reusable = false;
    if (--parts > 0) return;
    if (!reusable) conn->close();
    if (auto r = std::move(release)) r(conn, reusable && conn->transport_->is_open());
  }
};

H1ClientConnection::H1ClientConnection(std::unique_ptr<Transport> transport, const ClientOptions& options)
    : transport_(std::move(transport)), options_(options), idle_timer_(transport_->socket().get_executor()) {}

H1ClientConnection::~H1ClientConnection() = default;

void H1ClientConnection::close() {
  transport_->close();
  disarm_idle();
}

bool H1ClientConnection::stale() {
  if (!transport_->is_open()) return true;
  // An idle connection has nothing to read: EOF, a 408, or a TLS alert
  // means the server is done with it. Peeking at the socket finds out
  // before a request is written into a closing connection.
  char c;
  auto n = ::recv(transport_->socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK;
}

void H1ClientConnection::arm_idle(std::chrono::milliseconds after, std::function<void()> on_expire) {
  auto generation = ++idle_generation_;
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([w = weak_from_this(), generation, f = std::move(on_expire)](const error_code& ec) {
    auto self = w.lock();
    if (ec || !self || self->idle_generation_ != generation) return;
    f();
  });
}

void H1ClientConnection::disarm_idle() {
  ++idle_generation_;
  idle_timer_.cancel();
}

asio::awaitable<ClientStream> H1ClientConnection::exchange(const ClientRequest& request,
                                                           const RequestTarget& target,
                                                           Clock::time_point deadline, Release release,
                                                           bool& retry) {
  auto self = shared_from_this();
  disarm_idle();
  retry = false;
  const bool reused = ++exchanges_ > 1;
  ClientStream out;
  out.version = Version::http1_1;
  const bool connect = request.method == "CONNECT";
  const bool upgrade = connect || request.headers.contains("upgrade");
  const bool streamed = request.body_stream != nullptr;
  auto x = std::make_shared<Exchange>(self, std::move(release), options_.max_response_header_bytes,
                                      request.method == "HEAD" || connect);
  if (upgrade) {
    x->framing = Framing::kTunnel;
  } else if (streamed) {
    auto n = content_length(request.headers);
    x->framing = n ? Framing::kLength : Framing::kChunked;
    x->length = n.value_or(0);
  } else if (!request.body.empty()) {
    x->framing = Framing::kFixed;
  }
  x->upload = request.body_stream;
  if (x->framing == Framing::kFixed || x->framing == Framing::kLength || x->framing == Framing::kChunked) {
    auto expect = request.headers.get("expect");
    x->expect_continue = expect && iequals(*expect, "100-continue");
  }

  ClientDeadline d(transport_->socket().get_executor(), deadline, [t = transport_.get()] { t->close(); });
  std::string head = serialize_head(request, target, x->framing);
  const bool body_now = x->framing == Framing::kFixed && !x->expect_continue;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                            body_now ? asio::buffer(request.body) : asio::const_buffer()};
  error_code ec;
  co_await transport_->write(buffers, ec);
  auto fail = [&](ClientError e, std::string detail) {
    out.error = d.expired() ? make_error_code(ClientError::kTimeout) : make_error_code(e);
    out.detail = std::move(detail);
    x->go.cancel();
    if (x->upload && !x->response) x->upload->abort(make_error_code(BodyError::kReset));
    x->part_done(true, false);
  };
  if (ec) {
    retry = reused && !d.expired() && is_disconnect(ec) && idempotent_method(request.method) && !streamed;
    fail(ClientError::kConnectionClosed, ec.message());
    co_return out;
  }
  if (x->framing == Framing::kFixed && x->expect_continue) x->fixed_body = request.body;
  if (x->framing == Framing::kLength || x->framing == Framing::kChunked ||
      (x->framing == Framing::kFixed && x->expect_continue)) {
    ++x->parts;
    asio::co_spawn(transport_->socket().get_executor(), send_body(x), asio::detached);
  }

  auto& reader = x->reader;
  for (;;) {
    auto status = reader.parse();
    if (status == ResponseReader::Status::kHead) break;
    if (status == ResponseReader::Status::kInterim) {
      if (reader.interim_status() == 100) {
        x->continued = true;
        x->go.cancel();
      }
      continue;
    }
    if (status == ResponseReader::Status::kBad || status == ResponseReader::Status::kComplete) {
      fail(ClientError::kProtocolError, "malformed response head");
      co_return out;
    }
    if (status == ResponseReader::Status::kTooLarge) {
      fail(ClientError::kResponseTooLarge, "response head over max_response_header_bytes");
      co_return out;
    }
    auto n = co_await transport_->read_some(reader.prepare(), ec);
    if (ec) {
      retry = reused && !d.expired() && is_disconnect(ec) && reader.bytes_received() == 0 &&
              idempotent_method(request.method) && !streamed;
      fail(ClientError::kConnectionClosed, ec.message());
      co_return out;
    }
    reader.commit(n);
  }

  out.head = reader.head();
  x->final_head = true;
  x->go.cancel();
  x->response = std::make_shared<Body>(transport_->socket().get_executor(), options_.initial_window_size);
  x->response->on_abort([w = std::weak_ptr<Exchange>(x)](error_code) {
    auto x = w.lock();
    if (x && !x->response_over) x->conn->close();  // the only way to stop an HTTP/1.1 response
  });
  out.body = x->response;
  const bool tunnel =
      x->framing == Framing::kTunnel && ((connect && out.head.status / 100 == 2) || out.head.status == 101);
  auto ex = transport_->socket().get_executor();
  if (tunnel) {
    if (x->upload) {
      ++x->parts;
      asio::co_spawn(ex, tunnel_out(x), asio::detached);
    }
    asio::co_spawn(ex, tunnel_in(x), asio::detached);
  } else {
    if (x->framing == Framing::kTunnel && x->upload) x->upload->abort(make_error_code(BodyError::kReset));
    if (x->framing == Framing::kTunnel) x->reusable = false;  // never pooled
    asio::co_spawn(ex, pump_response(x), asio::detached);
  }
  co_return out;
}

asio::awaitable<void> H1ClientConnection::send_body(std::shared_ptr<Exchange> x) {
  error_code ec;
  if (x->expect_continue && !x->continued && !x->final_head) {
    // RFC 9110 §10.1.1: wait for 100 Continue, but not forever (curl: 1 s).
    x->go.expires_after(std::chrono::seconds(1));
    co_await x->go.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (x->final_head && !x->continued) {
    // The server answered without asking for the body: the connection is
    // out of sync (the server may or may not read a body), so it closes
    // after the response.
    if (x->upload) x->upload->abort(make_error_code(BodyError::kReset));
    x->part_done(false, false);
    co_return;
  }
  if (x->framing == Framing::kFixed) {
    co_await transport_->write(asio::buffer(x->fixed_body), ec);
    x->part_done(bool(ec), true);
    co_return;
  }
  std::uint64_t sent = 0;
  for (;;) {
    std::string chunk = co_await x->upload->read(ec);
    if (ec) {
      // The caller failed its body: the server must not take the request
      // as complete, and only closing says so in HTTP/1.1.
      x->part_done(true, false);
      co_return;
    }
    if (chunk.empty()) break;
    sent += chunk.size();
    if (x->framing == Framing::kLength) {
      if (sent > x->length) {
        x->upload->abort(make_error_code(BodyError::kTooLarge));
        x->part_done(true, false);
        co_return;
      }
      co_await transport_->write(asio::buffer(chunk), ec);
    } else {
      char size[24];
      auto [end, _] = std::to_chars(size, size + sizeof size - 2, chunk.size(), 16);
      *end++ = '\r';
      *end++ = '\n';
      std::array<asio::const_buffer, 3> b{asio::buffer(size, static_cast<std::size_t>(end - size)),
                                          asio::buffer(chunk), asio::buffer("\r\n", 2)};
      co_await transport_->write(b, ec);
    }
    if (ec) {
      x->upload->abort(make_error_code(BodyError::kReset));
      x->part_done(true, false);
      co_return;
    }
  }
  if (x->framing == Framing::kLength && sent != x->length) {
    x->part_done(true, false);  // shorter than announced
    co_return;
  }
  if (x->framing == Framing::kChunked) {
    std::string last = "0\r\n";
    for (auto& f : x->upload->trailers()) {
      append_sanitised(last, f.name);
      last.append(": ");
      append_sanitised(last, f.value);
      last.append("\r\n");
    }
    last.append("\r\n");
    co_await transport_->write(asio::buffer(last), ec);
  }
  x->part_done(bool(ec), true);
}

asio::awaitable<void> H1ClientConnection::pump_response(std::shared_ptr<Exchange> x) {
  auto& reader = x->reader;
  error_code ec;
  for (;;) {
    auto status = reader.parse();
    std::string bytes = reader.take_body();
    if (!bytes.empty()) {
      // Waits while the Body is full: the socket is not read meanwhile, so
      // the server's sending stalls on TCP flow control.
      co_await x->response->write(bytes, ec);
      if (ec) {
        x->response_over = true;
        x->part_done(true, false);
        co_return;
      }
    }
    if (status == ResponseReader::Status::kComplete) {
      x->response_over = true;
      x->response->finish(reader.trailers());
      x->part_done(false, reader.keep_alive());
      co_return;
    }
    if (status != ResponseReader::Status::kNeedMore) {
      x->response_over = true;
      x->response->fail(make_error_code(BodyError::kProtocol));
      x->part_done(true, false);
      co_return;
    }
    auto n = co_await transport_->read_some(reader.prepare(), ec);
    if (ec) {
      if (is_disconnect(ec) && reader.finish_on_eof() == ResponseReader::Status::kComplete) {
        std::string rest = reader.take_body();
        if (!rest.empty()) x->response->push(std::move(rest));
        x->response_over = true;
        x->response->finish();
        x->part_done(false, false);
        co_return;
      }
      x->response_over = true;
      x->response->fail(make_error_code(BodyError::kReset));
      x->part_done(true, false);
      co_return;
    }
    reader.commit(n);
  }
}

asio::awaitable<void> H1ClientConnection::tunnel_in(std::shared_ptr<Exchange> x) {
  error_code ec;
  std::string first = x->reader.take_unparsed();
  if (!first.empty()) co_await x->response->write(first, ec);
  std::array<char, 16 * 1024> buf;
  while (!ec) {
    auto n = co_await transport_->read_some(asio::buffer(buf), ec);
    if (ec) break;
    co_await x->response->write(std::string_view(buf.data(), n), ec);
  }
  x->response_over = true;
  if (is_disconnect(ec)) {
    x->response->finish();
    x->part_done(false, false);
  } else {
    x->response->fail(make_error_code(BodyError::kReset));
    x->part_done(true, false);
  }
}

asio::awaitable<void> H1ClientConnection::tunnel_out(std::shared_ptr<Exchange> x) {
  error_code ec;
  for (;;) {
    std::string chunk = co_await x->upload->read(ec);
    if (ec) {
      x->part_done(true, false);
      co_return;
    }
    if (chunk.empty()) break;
    co_await transport_->write(asio::buffer(chunk), ec);
    if (ec) {
      x->upload->abort(make_error_code(BodyError::kReset));
      x->part_done(true, false);
      co_return;
    }
  }
  transport_->shutdown_send();  // our direction ends; the server's may go on
  x->part_done(false, false);
}

}  // namespace basalt::http
