// One worker thread's query answering: the responder, a lock-free reader of
// the server's data snapshot, the worker's counters and answer buffer, and
// coroutine handlers awaited with a deadline. Listeners of every transport
// (UDP, TCP, DoH, manual) call this with a QueryState that carries the query
// from receive to send; it is used from its worker thread only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <span>
#include <vector>

#include "basalt/core/snapshot.hpp"
#include "basalt/dns/server/metrics.hpp"
#include "basalt/dns/server/query_state.hpp"
#include "basalt/dns/server/responder.hpp"
#include "server/response_rate_limiter.hpp"

namespace basalt::dns {

class Worker {
 public:
  // At most `max_pending` queries await handlers at once; more are dropped
  // (counted), as PowerDNS drops beyond its overload queue length. UDP
  // answers pass `rate_limiter` (shared by every worker; null: off).
  Worker(const Responder& responder, const core::Snapshot<ServerData>& data, Counters& counters,
         std::chrono::milliseconds handler_timeout, std::size_t max_pending,
         ResponseRateLimiter* rate_limiter = nullptr)
      : responder_(responder),
        reader_(data),
        counters_(counters),
        handler_timeout_(handler_timeout),
        max_pending_(max_pending),
        rate_limiter_(rate_limiter) {}

  enum class Result { kAnswered, kDropped, kAsync, kTransfer };

  // Answers `message`, received over the transport and from the client
  // `state` was reset() for, at once when it can (zone data, synchronous
  // handlers), counting it and telling the observer. kAsync: `state` holds
  // the query; finish it with answer_async() (every kAsync must be). kTransfer: an AXFR/IXFR over
  // TCP, for the caller to serve (not counted as a query).
  Result answer(std::span<const std::uint8_t> message, QueryState& state, std::span<std::uint8_t> out,
                std::size_t& size);

  // Awaits the coroutine handlers of `state` (SERVFAIL after the handler
  // timeout or an exception) and writes the answer into `out`. 0: no answer
  // (dropped by response rate limiting).
  boost::asio::awaitable<std::size_t> answer_async(QueryState& state, std::span<std::uint8_t> out);

  // A 65535-octet buffer for an answer that is copied out before the caller
  // next suspends (TCP, DoH); shared by everything on this worker.
  std::span<std::uint8_t> buffer() {
    if (buffer_.empty()) buffer_.resize(65535);
    return buffer_;
  }

  Counters& counters() noexcept { return counters_; }
  const ServerData& data() { return reader_.get(); }

 private:
  void count(const QueryState& state) noexcept;
  void finished(const QueryState& state, bool answered);
  // Response rate limiting of the answer in `out`: false: drop it (counted);
  // a slipped answer is rewritten in place.
  bool rate_limit(QueryState& state, std::span<std::uint8_t> out, std::size_t& size);
  // A warning about handlers, at most once a second (a slow driver would
  // otherwise log every query), with how many were held back.
  void warn_handlers(const std::string& text);

  const Responder& responder_;
  core::Snapshot<ServerData>::Reader reader_;
  Counters& counters_;
  std::chrono::milliseconds handler_timeout_;
  std::size_t max_pending_;
  ResponseRateLimiter* rate_limiter_;
  std::size_t pending_ = 0;  // kAsync answers not yet finished
  std::chrono::steady_clock::time_point last_warning_{};
  std::size_t warnings_held_ = 0;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace basalt::dns
