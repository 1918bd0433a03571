#include "server/worker.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace basalt::dns {
namespace asio = boost::asio;

namespace {
std::string client_text(const QueryState& state) {
  return state.client ? state.client->to_string() : std::string("manual");
}
}  // namespace

void Worker::warn_handlers(const std::string& text) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_warning_ < std::chrono::seconds(1)) {
    ++warnings_held_;
    return;
  }
  if (warnings_held_ > 0) {
    spdlog::warn("{} ({} more such warnings in the last second)", text, warnings_held_);
  } else {
    spdlog::warn("{}", text);
  }
  last_warning_ = now;
  warnings_held_ = 0;
}

void Worker::count(const QueryState& state) noexcept {
  counters_.count_query(state.query.transport, state.has_question ? state.query.question.type : RRType{},
                        state.rcode, state.truncated);
  counters_.count_cookie(state.cookie_check);
}

void Worker::finished(const QueryState& state, bool answered) {
  const auto& observer = reader_.get().observer;
  if (!observer) return;
  QueryEvent e{state.has_question ? state.query.question : Question{},
               state.query.transport,
               state.rcode,
               answered,
               state.from_handlers,
               std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                     state.received),
               state.client};
  try {
    observer(e);
  } catch (const std::exception& ex) {
    spdlog::warn("query observer failed: {}", ex.what());
  }
}

bool Worker::rate_limit(QueryState& state, std::span<std::uint8_t> out, std::size_t& size) {
  if (!rate_limiter_ || state.query.transport != Transport::kUdp) return true;
  auto outcome =
      rate_limit_answer(*rate_limiter_, state, reader_.get().zones, responder_.options().max_udp_payload, out,
                        size, ResponseRateLimiter::Clock::now());
  auto kind = static_cast<std::size_t>(outcome.kind);
  switch (outcome.verdict) {
    case RrlVerdict::kSend:
      return true;
    case RrlVerdict::kSlip:
      Counters::bump(counters_.rrl_slipped[kind]);
      state.truncated = true;
      return true;
    case RrlVerdict::kDrop:
      Counters::bump(counters_.rrl_dropped[kind]);
      Counters::bump(counters_.dropped);
      return false;
  }
  return true;
}

Worker::Result Worker::answer(std::span<const std::uint8_t> message, QueryState& state,
                              std::span<std::uint8_t> out, std::size_t& size) {
  const bool observed = static_cast<bool>(reader_.get().observer);
  if (observed) state.received = std::chrono::steady_clock::now();
  switch (responder_.respond(message, reader_.current(), state, out, size)) {
    case Responder::Status::kDropped:
      Counters::bump(counters_.dropped);
      if (observed) finished(state, false);
      return Result::kDropped;
    case Responder::Status::kTransfer:
      return Result::kTransfer;
    case Responder::Status::kAnswered:
      if (!rate_limit(state, out, size)) {
        if (observed) finished(state, false);
        return Result::kDropped;
      }
      count(state);
      if (observed) finished(state, true);
      return Result::kAnswered;
    case Responder::Status::kNeedsHandlers:
      break;
  }
  if (state.client) state.query.client = state.client->to_string();
  if (!Responder::all_sync(state)) {
    if (pending_ >= max_pending_) {
      Counters::bump(counters_.dropped);
      Counters::bump(counters_.handler_overload);
      if (observed) finished(state, false);
      return Result::kDropped;
    }
    ++pending_;
    return Result::kAsync;
  }
  size = responder_.run_sync_handlers(state, out);
  Counters::bump(counters_.from_handlers);
  if (state.rcode == Rcode::kServFail) Counters::bump(counters_.handler_failures);
  if (!rate_limit(state, out, size)) {
    if (observed) finished(state, false);
    return Result::kDropped;
  }
  count(state);
  if (observed) finished(state, true);
  return Result::kAnswered;
}

asio::awaitable<std::size_t> Worker::answer_async(QueryState& state, std::span<std::uint8_t> out) {
  using namespace asio::experimental::awaitable_operators;
  if (!state.received.time_since_epoch().count()) state.received = std::chrono::steady_clock::now();
  auto run_all = [&state]() -> asio::awaitable<std::vector<Record>> {
    std::vector<Record> records;
    for (const auto* h : state.handlers) {
      // (Not a ?: with co_await inside: g++ 12 destroys such temporaries twice.)
      std::vector<Record> part;
      if (h->sync) {
        part = h->sync(state.query);
      } else {
        part = co_await h->async(state.query);
      }
      records.insert(records.end(), std::make_move_iterator(part.begin()),
                     std::make_move_iterator(part.end()));
    }
    co_return records;
  };
  std::vector<Record> records;
  bool failed = false;
  try {
    asio::steady_timer timer(co_await asio::this_coro::executor, handler_timeout_);
    auto result = co_await (run_all() || timer.async_wait(asio::use_awaitable));
    if (result.index() == 0) {
      records = std::move(std::get<0>(result));
    } else {
      warn_handlers(fmt::format("handlers for {} (from {}) timed out after {} ms",
                                state.query.question.name.to_string(), client_text(state),
                                handler_timeout_.count()));
      failed = true;
    }
  } catch (const std::exception& e) {
    warn_handlers(fmt::format("handler failed for {} (from {}): {}", state.query.question.name.to_string(),
                              client_text(state), e.what()));
    failed = true;
  }
  --pending_;
  auto size = responder_.complete(state, std::move(records), failed, out);
  Counters::bump(counters_.from_handlers);
  if (failed) Counters::bump(counters_.handler_failures);
  if (!rate_limit(state, out, size)) {
    if (reader_.get().observer) finished(state, false);
    co_return 0;
  }
  count(state);
  if (reader_.get().observer) finished(state, true);
  co_return size;
}

}  // namespace basalt::dns
