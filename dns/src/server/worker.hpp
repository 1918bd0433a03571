// One worker thread's query answering: the responder, a lock-free reader of
// the server's data snapshot, the worker's counters, and coroutine handlers
// awaited with a deadline. Listeners of every transport (UDP, TCP, DoH,
// manual) call this; it is used from its worker thread only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <span>

#include "basalt/core/ip.hpp"
#include "basalt/core/snapshot.hpp"
#include "basalt/dns/server/metrics.hpp"
#include "basalt/dns/server/responder.hpp"

namespace basalt::dns {

class Worker {
 public:
  Worker(const Responder& responder, const core::Snapshot<ServerData>& data, Counters& counters,
         std::chrono::milliseconds handler_timeout)
      : responder_(responder), reader_(data), counters_(counters), handler_timeout_(handler_timeout) {}

  enum class Result { kAnswered, kDropped, kAsync };

  // Answers at once when it can (zone data, synchronous handlers). kAsync:
  // `pending` holds the query; finish it with answer_async().
  Result answer(std::span<const std::uint8_t> query, Transport transport, const core::Endpoint* client,
                std::span<std::uint8_t> out, std::size_t& size, PendingQuery& pending);

  // Awaits the coroutine handlers of `pending` (SERVFAIL after the handler
  // timeout or an exception) and writes the answer into `out`.
  boost::asio::awaitable<std::size_t> answer_async(PendingQuery& pending, std::span<std::uint8_t> out);

  Counters& counters() noexcept { return counters_; }
  const ServerData& data() { return reader_.get(); }

 private:
  void finished(const Question& q, Transport t, const ResponseInfo& info, bool answered,
                std::chrono::steady_clock::time_point start);

  const Responder& responder_;
  core::Snapshot<ServerData>::Reader reader_;
  Counters& counters_;
  std::chrono::milliseconds handler_timeout_;
};

}  // namespace basalt::dns
