#include "server_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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
void log_failure(std::exception_ptr e, const std::string& what) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::warn("http handler for {} failed: {}", what, ex.what());
  } catch (...) {
    spdlog::warn("http handler for {} failed", what);
  }
}

// The handler in a coroutine of its own, so the caller's cancellation
// reaches what it awaits.
asio::awaitable<void> invoke(const StreamHandler& handler, ServerRequest request, ResponseWriter& writer) {
  co_await handler(std::move(request), writer);
}

asio::awaitable<void> answer_503(std::shared_ptr<ResponseWriter> writer) {
  error_code ec;
  Response answer = Response::text(503, reason_phrase(503));
  co_await writer->respond(std::move(answer), ec);
}
}  // namespace

void time_out(ServerShared& shared, HandlerCall& call, const std::shared_ptr<ResponseWriter>& writer,
              const asio::any_io_executor& executor) {
  if (writer->head_sent() || call.timed_out) return;
  call.timed_out = true;
  shared.stats.add(Stats::kHandlerTimeouts);
  spdlog::warn("http handler timed out after {} ms", shared.limits.handler_timeout.count());
  call.cancel.emit(asio::cancellation_type::terminal);
  // The 503 goes out now, not when the handler gets round to returning.
  if (!writer->head_sent()) {
    asio::co_spawn(executor, answer_503(writer), asio::detached);
  }
}

asio::awaitable<void> call_handler(ServerShared& shared, const StreamHandler& handler, ServerRequest request,
                                   std::shared_ptr<ResponseWriter> writer, HandlerCall& call) {
  auto ex = co_await asio::this_coro::executor;
  std::string what = request.method;
  what.push_back(' ');
  what.append(request.path);
  std::exception_ptr failure;
  try {
    co_await asio::co_spawn(ex, invoke(handler, std::move(request), *writer),
                            asio::bind_cancellation_slot(call.cancel.slot(), asio::use_awaitable));
  } catch (...) {
    failure = std::current_exception();
  }
  call.cancel.slot().clear();
  error_code ec;
  if (failure && !call.timed_out) {
    log_failure(failure, what);
    shared.stats.add(Stats::kHandlerExceptions);
  }
  if (!writer->head_sent()) {
    if (!failure) spdlog::warn("http handler for {} returned without a response", what);
    Response answer = Response::text(500, reason_phrase(500));
    co_await writer->respond(std::move(answer), ec);
  } else if (failure && !writer->finished()) {
    writer->reset();
  } else if (!writer->finished()) {
    co_await writer->finish({}, ec);
  }
}

asio::awaitable<void> run_handler(ServerShared& shared, const StreamHandler& handler, ServerRequest request,
                                  std::shared_ptr<ResponseWriter> writer) {
  struct Watch {
    explicit Watch(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    HandlerCall call;
  };
  auto ex = co_await asio::this_coro::executor;
  auto watch = std::make_shared<Watch>(ex);
  watch->timer.expires_after(shared.limits.handler_timeout);
  watch->timer.async_wait([watch, &shared, writer, ex](const error_code& ec) {
    if (!ec) time_out(shared, watch->call, writer, ex);
  });
  co_await call_handler(shared, handler, std::move(request), writer, watch->call);
  watch->timer.cancel();
}

}  // namespace basalt::http
