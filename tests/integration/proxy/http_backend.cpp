// HttpBackend (fixture.hpp): a scripted HTTP backend on basalt's own server.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "basalt/core/runtime.hpp"
#include "basalt/http/server.hpp"
#include "fixture.hpp"

namespace basalt::proxy_test {

namespace asio = boost::asio;
using boost::system::error_code;

struct HttpBackend::Impl {
  core::Runtime runtime{core::Runtime::Options{.workers = 1}};
  std::unique_ptr<http::Server> server;
};

namespace {

asio::awaitable<void> handle(std::string name, std::shared_ptr<std::atomic<int>> requests,
                             http::ServerRequest req, http::ResponseWriter& res) {
  ++*requests;
  error_code ec;
  const std::string& path = req.path;
  if (path == "/name") {
    http::Response r(200, "backend " + name, "text/plain");
    co_await res.respond(std::move(r), ec);
  } else if (path == "/headers") {
    std::string body =
        "method: " + req.method + "\ntarget: " + req.target + "\nauthority: " + req.authority + "\n";
    for (const auto& f : req.headers) body += f.name + ": " + f.value + "\n";
    http::Response r(200, body, "text/plain");
    co_await res.respond(std::move(r), ec);
  } else if (path == "/echo") {
    http::ResponseHead head;
    head.headers.set("content-type", "application/octet-stream");
    co_await res.write_head(std::move(head), ec);
    for (;;) {
      std::string chunk = co_await req.body->read(ec);
      if (ec) {
        res.reset();
        co_return;
      }
      if (chunk.empty()) break;
      co_await res.write(chunk, ec);
      if (ec) co_return;
    }
    http::Headers trailers = req.body->trailers();
    co_await res.finish(std::move(trailers), ec);
  } else if (path.starts_with("/status/")) {
    const int code = std::stoi(path.substr(8));
    http::Response r(code, "status " + std::to_string(code), "text/plain");
    co_await res.respond(std::move(r), ec);
  } else if (path.starts_with("/slow/")) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(std::stoi(path.substr(6))));
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    http::Response r(200, "slow " + name, "text/plain");
    co_await res.respond(std::move(r), ec);
  } else if (path == "/die") {
    http::ResponseHead head;
    head.headers.set("content-length", "100");
    co_await res.write_head(std::move(head), ec);
    co_await res.write("0123456789", ec);
    res.reset();
  } else {
    http::Response r(200, "backend " + name + " " + path, "text/plain");
    co_await res.respond(std::move(r), ec);
  }
}

}  // namespace

HttpBackend::HttpBackend(std::string name, std::uint16_t port, std::chrono::milliseconds idle_timeout)
    : impl_(std::make_unique<Impl>()) {
  http::Limits limits;
  limits.max_body_bytes = 0;
  limits.idle_timeout = idle_timeout;
  auto requests = requests_;
  http::StreamHandler handler = [name, requests](http::ServerRequest req,
                                                 http::ResponseWriter& res) -> asio::awaitable<void> {
    co_await handle(name, requests, std::move(req), res);
  };
  impl_->server = std::make_unique<http::Server>(impl_->runtime, std::move(handler), limits);
  http::ListenOptions listen;
  listen.endpoint = core::Endpoint{core::IpAddress::v4_loopback(), port};
  port_ = impl_->server->listen(listen);
  impl_->runtime.start();
}

void HttpBackend::stop() {
  if (!impl_) return;
  impl_->server->stop();
  impl_->runtime.stop();
  impl_->runtime.join();
  impl_.reset();  // the io_contexts go, and every socket with them
}

HttpBackend::~HttpBackend() {
  stop();
}

}  // namespace basalt::proxy_test
