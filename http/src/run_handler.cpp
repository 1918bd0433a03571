#include "server_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace basalt::http {

namespace asio = boost::asio;

void count_response(Stats& stats, int status) noexcept {
  if (status >= 500) {
    stats.add(Stats::kResponses5xx);
  } else if (status >= 400) {
    stats.add(Stats::kResponses4xx);
  }
}

namespace {
struct Call {
  explicit Call(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  asio::cancellation_signal cancel;
  std::optional<Response> response;
  bool done = false;
};
}  // namespace

asio::awaitable<Response> run_handler(ServerShared& shared, Request request) {
  auto ex = co_await asio::this_coro::executor;
  auto call = std::make_shared<Call>(ex);
  Stats* stats = &shared.stats;
  std::string what = request.method + " " + request.path;
  // Copy the handler: the coroutine it returns may refer to the function object.
  auto handler = std::make_shared<Handler>(shared.handler);
  asio::co_spawn(
      ex,
      [handler, req = std::move(request)]() mutable -> asio::awaitable<Response> {
        co_return co_await (*handler)(std::move(req));
      },
      asio::bind_cancellation_slot(call->cancel.slot(),
                                   [call, stats, what](std::exception_ptr e, Response r) {
                                     if (call->done) return;  // timed out already
                                     call->done = true;
                                     if (e) {
                                       try {
                                         std::rethrow_exception(e);
                                       } catch (const std::exception& ex) {
                                         spdlog::warn("http handler for {} failed: {}", what, ex.what());
                                       } catch (...) {
                                         spdlog::warn("http handler for {} failed", what);
                                       }
                                       stats->add(Stats::kHandlerExceptions);
                                       call->response = Response::text(500, "Internal Server Error");
                                     } else {
                                       call->response = std::move(r);
                                     }
                                     call->timer.cancel();
                                   }));
  if (!call->done) {
    call->timer.expires_after(shared.limits.handler_timeout);
    boost::system::error_code ec;
    co_await call->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!call->done) {
    call->done = true;
    stats->add(Stats::kHandlerTimeouts);
    spdlog::warn("http handler for {} timed out after {} ms", what, shared.limits.handler_timeout.count());
    call->cancel.emit(asio::cancellation_type::terminal);
    co_return Response::text(503, "Service Unavailable");
  }
  co_return std::move(*call->response);
}

}  // namespace basalt::http
