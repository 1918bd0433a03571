#include "fixture.hpp"

#include <fstream>
#include <sstream>

namespace basalt::http::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

TestCert make_cert(const basalt::testing::TempDir& dir, const std::string& name) {
  std::string error;
  auto pem = core::generate_self_signed({.dns_names = {name, "localhost"}}, &error);
  if (!pem) throw std::runtime_error("generate_self_signed: " + error);
  TestCert c{*pem, dir.file(name + ".pem")};
  std::ofstream(c.cert_file) << pem->certificate;
  return c;
}

TestServer::TestServer(Router router, Limits limits, const TestCert* cert, std::size_t workers)
    : TestServer(router.stream_handler(limits.max_body_bytes), limits, cert, workers) {}

TestServer::TestServer(StreamHandler handler, Limits limits, const TestCert* cert, std::size_t workers)
    : runtime_(core::Runtime::Options{.workers = workers}) {
  server_ = std::make_unique<Server>(runtime_, std::move(handler), limits);
  ListenOptions options;
  if (cert) {
    std::string error;
    tls_ = core::TlsServerContext::create(
        {.certificates = {{cert->pem.certificate, cert->pem.private_key}}, .alpn = alpn_protocols()}, &error);
    if (!tls_) throw std::runtime_error("TlsServerContext: " + error);
    options.tls = *tls_;
  }
  port_ = server_->listen(options);
  runtime_.start();
}

TestServer::~TestServer() {
  server_->stop();
  runtime_.stop();
  runtime_.join();
}

std::string TestServer::url(const std::string& path) const {
  if (tls_) return "https://localhost:" + std::to_string(port_) + path;
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

CurlResult curl(std::vector<std::string> args, const std::string& url) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time",
                                   "20",   "-w",  "\n%{http_code} %{http_version} %{num_connects}\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (url.starts_with("https://localhost:")) {
    auto port = url.substr(18, url.find('/', 18) - 18);
    argv.push_back("--resolve");
    argv.push_back("localhost:" + port + ":127.0.0.1");
  }
  argv.push_back(url);
  auto r = basalt::testing::run(argv);
  CurlResult c;
  c.exit_code = r.exit_code;
  c.stderr_text = r.err;
  // The -w trailer is the last line; with several URLs, the last transfer.
  auto out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  auto nl = out.rfind('\n');
  std::string trailer = nl == std::string::npos ? out : out.substr(nl + 1);
  c.body = nl == std::string::npos ? "" : out.substr(0, nl);
  std::istringstream in(trailer);
  in >> c.status >> c.http_version >> c.num_connects;
  return c;
}

RawTcp::RawTcp(std::uint16_t port) {
  socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
}

RawTcp::~RawTcp() = default;

void RawTcp::send(std::string_view bytes) {
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes), ec);
}

std::optional<std::string> RawTcp::read_until_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<char, 16384> buf;
  for (;;) {
    bool done = false;
    boost::system::error_code ec;
    std::size_t got = 0;
    io_.restart();
    socket_.async_read_some(asio::buffer(buf), [&](const boost::system::error_code& e, std::size_t k) {
      done = true;
      ec = e;
      got = k;
    });
    io_.run_until(deadline);
    if (!done) {
      socket_.cancel();
      io_.restart();
      io_.run();
      return std::nullopt;
    }
    in_.append(buf.data(), got);
    if (ec) return in_;  // EOF (or a reset): the server is done with us
  }
}

RawH2::RawH2(std::uint16_t port, bool tls) {
  tcp::endpoint at(asio::ip::address_v4::loopback(), port);
  if (tls) {
    ctx_.set_verify_mode(asio::ssl::verify_none);
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx_.native_handle(), alpn, sizeof alpn);
    tls_.emplace(io_, ctx_);
    tls_->next_layer().connect(at);
    tls_->handshake(asio::ssl::stream_base::client);
  } else {
    plain_.emplace(io_);
    plain_->connect(at);
  }
  send_raw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  send(kSettings, 0, 0, "");
}

RawH2::~RawH2() = default;

void RawH2::send_raw(std::string_view bytes) {
  boost::system::error_code ec;
  if (tls_) {
    asio::write(*tls_, asio::buffer(bytes), ec);
  } else {
    asio::write(*plain_, asio::buffer(bytes), ec);
  }
}

void RawH2::send(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string f;
  auto n = payload.size();
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>((stream >> shift) & 0xff));
  f.append(payload);
  send_raw(f);
}

std::string RawH2::request_block(const std::string& method, const std::string& path) {
  std::string b;
  b.push_back(static_cast<char>(method == "POST" ? 0x83 : 0x82));  // :method
  b.push_back(static_cast<char>(0x87));                            // :scheme https
  // :path, literal without indexing, indexed name 4
  b.push_back(0x04);
  b.push_back(static_cast<char>(path.size()));
  b.append(path);
  // :authority localhost, literal without indexing, indexed name 1
  b.push_back(0x01);
  b.push_back(9);
  b.append("localhost");
  return b;
}

bool RawH2::fill(std::size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in_.size() < n) {
    std::array<char, 16384> buf;
    bool done = false;
    boost::system::error_code ec;
    std::size_t got = 0;
    auto handler = [&](const boost::system::error_code& e, std::size_t k) {
      done = true;
      ec = e;
      got = k;
    };
    io_.restart();
    if (tls_) {
      tls_->async_read_some(asio::buffer(buf), handler);
    } else {
      plain_->async_read_some(asio::buffer(buf), handler);
    }
    io_.run_until(deadline);
    if (!done) {
      if (tls_)
        tls_->next_layer().cancel();
      else
        plain_->cancel();
      io_.restart();
      io_.run();
      return false;
    }
    if (ec) return false;
    in_.append(buf.data(), got);
  }
  return true;
}

std::optional<RawH2::Frame> RawH2::read(std::chrono::milliseconds timeout) {
  if (!fill(9, timeout)) return std::nullopt;
  auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(in_[i]); };
  std::size_t len = (std::size_t{u8(0)} << 16) | (std::size_t{u8(1)} << 8) | u8(2);
  if (!fill(9 + len, timeout)) return std::nullopt;
  Frame f;
  f.type = u8(3);
  f.flags = u8(4);
  f.stream = ((std::uint32_t{u8(5)} & 0x7f) << 24) | (std::uint32_t{u8(6)} << 16) |
             (std::uint32_t{u8(7)} << 8) | u8(8);
  f.payload = in_.substr(9, len);
  in_.erase(0, 9 + len);
  return f;
}

std::optional<std::uint32_t> RawH2::wait_goaway(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = read(left);
    if (!f) return std::nullopt;
    if (f->type == kGoaway && f->payload.size() >= 8) {
      auto p = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<std::uint8_t>(f->payload[i]));
      };
      return (p(4) << 24) | (p(5) << 16) | (p(6) << 8) | p(7);
    }
  }
}

bool RawH2::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    in_.clear();
    if (!fill(1, left)) return std::chrono::steady_clock::now() < deadline;
  }
}

}  // namespace basalt::http::testing
