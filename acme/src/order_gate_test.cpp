#include "basalt/acme/order_gate.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

namespace basalt::acme {
namespace {
namespace asio = boost::asio;

TEST(OrderGateKey, IsTheNameSetAndKeyType) {
  EXPECT_EQ(OrderGate::key({"B.example", "a.example."}, KeyType::kEcdsaP256),
            OrderGate::key({"a.example", "b.example", "a.example"}, KeyType::kEcdsaP256));
  EXPECT_NE(OrderGate::key({"a.example"}, KeyType::kEcdsaP256),
            OrderGate::key({"a.example"}, KeyType::kRsa2048));
  EXPECT_NE(OrderGate::key({"a.example"}, KeyType::kEcdsaP256),
            OrderGate::key({"a.example", "*.a.example"}, KeyType::kEcdsaP256));
}

// Three requests while the first order is held open: one order, three results.
class OrderGateTest : public ::testing::Test {
 protected:
  asio::awaitable<StoredCertificate> slow_order(std::string name, bool fail) {
    ++orders_;
    co_await release_.async_wait(asio::redirect_error(asio::use_awaitable, ignored_));
    if (fail) throw std::runtime_error("the CA refused");
    StoredCertificate c;
    c.domains = {name};
    co_return c;
  }

  void request(const std::string& key, std::string name, bool fail = false) {
    asio::co_spawn(
        io_,
        [this, key, name, fail]() -> asio::awaitable<void> {
          try {
            OrderGate::Order order = [=, this] { return slow_order(name, fail); };
            auto c = co_await gate_.run(key, order);
            results_.push_back(c.domains.front());
          } catch (const std::runtime_error& e) {
            results_.push_back(std::string("error: ") + e.what());
          }
        },
        asio::detached);
  }

  asio::io_context io_;
  OrderGate gate_;
  asio::steady_timer release_{io_, asio::steady_timer::time_point::max()};
  boost::system::error_code ignored_;
  int orders_ = 0;
  std::vector<std::string> results_;
};

TEST_F(OrderGateTest, ASecondRequestSharesTheOrderInFlight) {
  request("k", "first");
  request("k", "second");
  request("k", "third");
  io_.poll();
  EXPECT_EQ(orders_, 1);
  EXPECT_EQ(gate_.in_flight(), 1u);
  release_.cancel();
  io_.run();
  EXPECT_EQ(orders_, 1);
  EXPECT_EQ(results_, (std::vector<std::string>{"first", "first", "first"}));
  EXPECT_EQ(gate_.in_flight(), 0u);
}

TEST_F(OrderGateTest, WaitersShareTheErrorAndTheNextRequestOrdersAgain) {
  request("k", "a", true);
  request("k", "b", true);
  io_.poll();
  release_.cancel();
  io_.run();
  EXPECT_EQ(orders_, 1);
  EXPECT_EQ(results_, (std::vector<std::string>{"error: the CA refused", "error: the CA refused"}));
  io_.restart();
  release_.expires_at(asio::steady_timer::time_point::min());
  request("k", "c");
  io_.run();
  EXPECT_EQ(orders_, 2);
  EXPECT_EQ(results_.back(), "c");
}

TEST_F(OrderGateTest, DifferentKeysOrderSeparately) {
  request("k1", "one");
  request("k2", "two");
  io_.poll();
  EXPECT_EQ(orders_, 2);
  release_.cancel();
  io_.run();
  EXPECT_EQ(results_.size(), 2u);
}

}  // namespace
}  // namespace basalt::acme
