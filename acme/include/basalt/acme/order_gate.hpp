// One order at a time per certificate: when a second request for the same
// names and key type arrives while an order for them is in flight (a
// management call while the background renewal runs), it waits for that
// order and shares its result — certificate or error — instead of placing a
// second order at the CA (real CAs rate-limit duplicate orders).
//
//   auto cert = co_await gate.run(OrderGate::key(domains, key_type), [&] { return client.obtain(...); });
//
// Thread-safety: run() may be awaited from any executor; the gate must
// outlive every run() in flight. A waiter cancelled while it waits stops
// waiting (the order itself goes on).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "basalt/acme/certificate_store.hpp"
#include "basalt/acme/csr.hpp"

namespace basalt::acme {

class OrderGate {
 public:
  using Order = std::function<boost::asio::awaitable<StoredCertificate>()>;

  // The gate key of an order: the names as a set (case-insensitive) and the key type.
  static std::string key(const std::vector<std::string>& domains, KeyType key_type);

  // Runs `order` unless an order with the same key is in flight; then waits
  // for that one and returns its certificate or rethrows its error.
  boost::asio::awaitable<StoredCertificate> run(const std::string& key, const Order& order);

  // Orders in flight now.
  std::size_t in_flight() const;

 private:
  struct Flight;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace basalt::acme
