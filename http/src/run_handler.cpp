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
using boost::system::error_code;

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
  std::exception_ptr error;
  bool done = false;
};

void log_failure(std::exception_ptr e, const std::string& what) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::warn("http handler for {} failed: {}", what, ex.what());
  } catch (...) {
    spdlog::warn("http handler for {} failed", what);
  }
}

asio::awaitable<void> call_handler(std::shared_ptr<StreamHandler> handler, ServerRequest request,
                                   std::shared_ptr<ResponseWriter> writer) {
  co_await (*handler)(std::move(request), *writer);
}
}  // namespace

asio::awaitable<void> run_handler(ServerShared& shared, ServerRequest request,
                                  std::shared_ptr<ResponseWriter> writer) {
  auto ex = co_await asio::this_coro::executor;
  auto call = std::make_shared<Call>(ex);
  std::string what = request.method + " " + request.path;
  // Copy the handler: the coroutine it returns may refer to the function object.
  auto handler = std::make_shared<StreamHandler>(shared.handler);
  asio::co_spawn(ex, call_handler(std::move(handler), std::move(request), writer),
                 asio::bind_cancellation_slot(call->cancel.slot(), [call](std::exception_ptr e) {
                   call->done = true;
                   call->error = e;
                   call->timer.cancel();
                 }));
  // Until the head is sent: handler_timeout (503). After it the body's own
  // timeouts in the session apply: a stalled peer gets the connection or
  // stream reset, which fails the handler's reads and writes.
  auto deadline = std::chrono::steady_clock::now() + shared.limits.handler_timeout;
  while (!call->done) {
    if (writer->head_sent()) {
      call->timer.expires_at(std::chrono::steady_clock::time_point::max());
    } else if (std::chrono::steady_clock::now() >= deadline) {
      shared.stats.add(Stats::kHandlerTimeouts);
      spdlog::warn("http handler for {} timed out after {} ms", what, shared.limits.handler_timeout.count());
      call->cancel.emit(asio::cancellation_type::terminal);
      error_code ec;
      Response answer = Response::text(503, reason_phrase(503));
      co_await writer->respond(std::move(answer), ec);
      co_return;
    } else {
      // Wake at the deadline, or once a second to see whether the head went out.
      call->timer.expires_at(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1)));
    }
    error_code ec;
    co_await call->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  error_code ec;
  if (call->error) {
    log_failure(call->error, what);
    shared.stats.add(Stats::kHandlerExceptions);
    if (!writer->head_sent()) {
      Response answer = Response::text(500, reason_phrase(500));
      co_await writer->respond(std::move(answer), ec);
    } else if (!writer->finished()) {
      writer->reset();
    }
  } else if (!writer->head_sent()) {
    spdlog::warn("http handler for {} returned without a response", what);
    Response answer = Response::text(500, reason_phrase(500));
    co_await writer->respond(std::move(answer), ec);
  } else if (!writer->finished()) {
    co_await writer->finish({}, ec);
  }
}

}  // namespace basalt::http
