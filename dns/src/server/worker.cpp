#include "server/worker.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace basalt::dns {
namespace asio = boost::asio;

namespace {
Question question_of(std::span<const std::uint8_t> query) {
  MessageView v;
  if (v.parse(query) != WireError::kOk || v.header().qdcount == 0) return {};
  auto q = v.question();
  return Question{q.name.to_name(), q.type, q.rclass};
}
}  // namespace

void Worker::finished(const Question& q, Transport t, const ResponseInfo& info, bool answered,
                      std::chrono::steady_clock::time_point start) {
  const auto& observer = reader_.get().observer;
  if (!observer) return;
  QueryEvent e{
      q,
      t,
      info.rcode,
      answered,
      info.from_handlers,
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)};
  try {
    observer(e);
  } catch (const std::exception& ex) {
    spdlog::warn("query observer failed: {}", ex.what());
  }
}

Worker::Result Worker::answer(std::span<const std::uint8_t> query, Transport transport,
                              const core::Endpoint* client, std::span<std::uint8_t> out, std::size_t& size,
                              PendingQuery& pending) {
  const bool observed = static_cast<bool>(reader_.get().observer);
  auto start = observed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  ResponseInfo info;
  auto status = responder_.respond(query, transport, reader_.current(), out, size, pending, info);
  switch (status) {
    case Responder::Status::kDropped:
      Counters::bump(counters_.dropped);
      if (observed) finished(question_of(query), transport, info, false, start);
      return Result::kDropped;
    case Responder::Status::kAnswered:
      counters_.count_query(transport, info.qtype, info.rcode, info.truncated);
      if (observed) finished(question_of(query), transport, info, true, start);
      return Result::kAnswered;
    case Responder::Status::kNeedsHandlers:
      break;
  }
  if (client) pending.query.client = client->to_string();
  if (!Responder::all_sync(pending)) return Result::kAsync;
  size = responder_.run_sync_handlers(pending, out, info);
  Counters::bump(counters_.from_handlers);
  if (info.rcode == Rcode::kServFail) Counters::bump(counters_.handler_failures);
  counters_.count_query(transport, info.qtype, info.rcode, info.truncated);
  if (observed) finished(pending.query.question, transport, info, true, start);
  return Result::kAnswered;
}

asio::awaitable<std::size_t> Worker::answer_async(PendingQuery& pending, std::span<std::uint8_t> out) {
  using namespace asio::experimental::awaitable_operators;
  auto start = std::chrono::steady_clock::now();
  auto run_all = [&pending]() -> asio::awaitable<std::vector<Record>> {
    std::vector<Record> records;
    for (const auto* h : pending.handlers) {
      // (Not a ?: with co_await inside: g++ 12 destroys such temporaries twice.)
      std::vector<Record> part;
      if (h->sync) {
        part = h->sync(pending.query);
      } else {
        part = co_await h->async(pending.query);
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
      spdlog::warn("handlers for {} timed out after {} ms", pending.query.question.name.to_string(),
                   handler_timeout_.count());
      failed = true;
    }
  } catch (const std::exception& e) {
    spdlog::warn("handler failed for {}: {}", pending.query.question.name.to_string(), e.what());
    failed = true;
  }
  ResponseInfo info;
  auto size = responder_.complete(pending, std::move(records), failed, out, info);
  Counters::bump(counters_.from_handlers);
  if (failed) Counters::bump(counters_.handler_failures);
  counters_.count_query(pending.query.transport, info.qtype, info.rcode, info.truncated);
  if (reader_.get().observer) finished(pending.query.question, pending.query.transport, info, true, start);
  co_return size;
}

}  // namespace basalt::dns
