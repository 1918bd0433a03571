// A ResponseWriter that collects the response and sends it whole when it
// finishes: the bridge for a session that cannot stream a body yet.
// Single-threaded, on the connection's executor.
#pragma once

#include "basalt/http/stream_handler.hpp"

#include <functional>

namespace basalt::http {

class BufferingWriter final : public ResponseWriter {
 public:
  using Send = std::function<boost::asio::awaitable<void>(Response, boost::system::error_code&)>;
  explicit BufferingWriter(Send send) : send_(std::move(send)) {}

  boost::asio::awaitable<void> write_head(ResponseHead head, boost::system::error_code& ec) override {
    ec = {};
    if (head.status >= 100 && head.status < 200 && head.status != 101) co_return;
    if (head_sent_) {
      ec = boost::asio::error::already_started;
      co_return;
    }
    head_sent_ = true;
    static_cast<ResponseHead&>(response_) = std::move(head);
  }
  boost::asio::awaitable<void> write(std::string_view bytes, boost::system::error_code& ec) override {
    ec = finished_ || !head_sent_ ? boost::asio::error::not_connected : boost::system::error_code{};
    if (!ec) response_.body.append(bytes);
    co_return;
  }
  boost::asio::awaitable<void> finish(Headers, boost::system::error_code& ec) override {
    ec = {};
    if (finished_ || !head_sent_) co_return;
    finished_ = true;
    co_await send_(std::move(response_), ec);
  }
  boost::asio::awaitable<void> respond(Response response, boost::system::error_code& ec) override {
    ec = {};
    if (head_sent_) {
      ec = boost::asio::error::already_started;
      co_return;
    }
    head_sent_ = finished_ = true;
    co_await send_(std::move(response), ec);
  }
  void reset() override { finished_ = true; }
  bool head_sent() const noexcept override { return head_sent_; }
  bool finished() const noexcept override { return finished_; }

 private:
  Send send_;
  Response response_;
  bool head_sent_ = false;
  bool finished_ = false;
};

}  // namespace basalt::http
