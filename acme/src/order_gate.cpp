#include "basalt/acme/order_gate.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace basalt::acme {
namespace asio = boost::asio;

struct OrderGate::Flight {
  bool done = false;
  std::optional<StoredCertificate> result;
  std::exception_ptr error;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters;  // cancelled when done
};

std::string OrderGate::key(const std::vector<std::string>& domains, KeyType key_type) {
  std::vector<std::string> names;
  for (auto n : domains) {
    std::transform(n.begin(), n.end(), n.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
    if (!n.empty() && n.back() == '.') n.pop_back();
    names.push_back(std::move(n));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out(to_string(key_type));
  for (const auto& n : names) out.append(" ").append(n);
  return out;
}

asio::awaitable<StoredCertificate> OrderGate::run(const std::string& key, const Order& order) {
  auto executor = co_await asio::this_coro::executor;
  std::shared_ptr<Flight> flight;
  std::shared_ptr<asio::steady_timer> wakeup;
  {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(key);
    if (it == flights_.end()) {
      flight = std::make_shared<Flight>();
      flights_.emplace(key, flight);
    } else {
      flight = it->second;
      wakeup = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
      flight->waiters.push_back(wakeup);
    }
  }
  if (wakeup) {
    boost::system::error_code ec;
    co_await wakeup->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::lock_guard lock(mutex_);
    if (!flight->done) {  // this waiter was cancelled, the order goes on
      std::erase(flight->waiters, wakeup);
      throw boost::system::system_error(asio::error::operation_aborted);
    }
    if (flight->error) std::rethrow_exception(flight->error);
    co_return *flight->result;
  }
  // The order itself: whatever happens, wake the waiters with its outcome.
  std::exception_ptr error;
  std::optional<StoredCertificate> result;
  try {
    result = co_await order();
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    flight->done = true;
    flight->result = result;
    flight->error = error;
    flights_.erase(key);
    // An expiry in the past also wakes a waiter that has not started waiting yet.
    for (auto& w : flight->waiters) {
      asio::post(w->get_executor(), [w] { w->expires_at(asio::steady_timer::time_point::min()); });
    }
    flight->waiters.clear();
  }
  if (error) std::rethrow_exception(error);
  co_return std::move(*result);
}

std::size_t OrderGate::in_flight() const {
  std::lock_guard lock(mutex_);
  return flights_.size();
}

}  // namespace basalt::acme
