// acme::Client against answers pebble never gives: rate limits (429 with
// Retry-After, short and long), badNonce and an order refused with
// subproblems. A small HTTPS server on loopback plays the CA's directory,
// nonce, account and order endpoints; everything else is the real client
// over the real http::Client and TLS.
#include "basalt/acme/client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <filesystem>

#include "basalt/acme/problem.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"

namespace basalt::acme {
namespace {
namespace asio = boost::asio;

class NeverSolver : public ChallengeSolver {
 public:
  std::string_view type() const override { return "dns-01"; }
  asio::awaitable<void> present(const ChallengeTask&) override {
    ++presented;
    co_return;
  }
  asio::awaitable<void> cleanup(const ChallengeTask&) override { co_return; }
  int presented = 0;
};

http::Response json(int status, std::string body, std::string_view type = "application/json") {
  return http::Response(status, std::move(body), type);
}

class FakeCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pem = core::generate_self_signed(
        {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}});
    ASSERT_TRUE(pem);
    ca_pem_ = pem->certificate;
    auto tls = core::TlsServerContext::create(
        {.certificates = {{pem->certificate, pem->private_key}}, .alpn = http::alpn_protocols()});
    ASSERT_TRUE(tls);
    http::Router router;
    router.add("/dir", {"GET"}, [this](http::Request) -> asio::awaitable<http::Response> {
      co_return json(200, directory_json());
    });
    router.add("/nonce", {"GET", "HEAD"}, [this](http::Request) -> asio::awaitable<http::Response> {
      co_return with_nonce(http::Response(200));
    });
    router.add("/account", {"POST"}, [this](http::Request) -> asio::awaitable<http::Response> {
      co_return with_nonce(account_answer());
    });
    router.add("/order", {"POST"}, [this](http::Request) -> asio::awaitable<http::Response> {
      co_return with_nonce(json(403, order_refusal(), "application/problem+json"));
    });
    server_ = std::make_unique<http::Server>(runtime_, router.handler());
    port_ = server_->listen({.endpoint = {core::IpAddress::v4_loopback(), 0}, .tls = *tls});
    runtime_.start();
  }

  void TearDown() override {
    server_->stop();
    runtime_.stop();
    runtime_.join();
    std::filesystem::remove_all(dir_);
  }

  std::string base() const { return "https://127.0.0.1:" + std::to_string(port_); }

  std::string directory_json() const {
    std::string b = base();
    std::string out = R"({"newNonce":")";
    out.append(b).append(R"(/nonce","newAccount":")").append(b).append(R"(/account","newOrder":")");
    out.append(b).append(R"(/order"})");
    return out;
  }

  http::Response with_nonce(http::Response r) {
    r.headers.add("Replay-Nonce", "nonce-" + std::to_string(nonce_++));
    return r;
  }

  http::Response account_answer() {
    int n = account_calls_++;
    if (n < bad_nonces_) {
      return json(
          400,
          R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"JWS has an invalid anti-replay nonce"})",
          "application/problem+json");
    }
    if (n < bad_nonces_ + rate_limits_) {
      auto r = json(
          429, R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new registrations"})",
          "application/problem+json");
      r.headers.add("Retry-After", retry_after_);
      return r;
    }
    auto r = json(201, R"({"status":"valid","contact":["mailto:ops@example.com"]})");
    r.headers.add("Location", base() + "/acct/1");
    return r;
  }

  static std::string order_refusal() {
    return R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order",)"
           R"("status":403,"subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier",)"
           R"("detail":"Domain name is on the blocklist","identifier":{"type":"dns","value":"bad.example.com"}}]})";
  }

  // Runs one order on a fresh io_context; returns the error it ended with.
  std::optional<Error> order() {
    asio::io_context io;
    Client client(io, {.directory = base() + "/dir",
                       .directory_ca = ca_pem_,
                       .contact = {"mailto:ops@example.com"},
                       .account_key = dir_ / "account.key",
                       .max_retry_after = std::chrono::seconds(5)});
    std::optional<Error> error;
    bool other = false;
    asio::co_spawn(io, client.obtain({"ok.example.com", "bad.example.com"}, solver_),
                   [&](std::exception_ptr e, StoredCertificate) {
                     try {
                       if (e) std::rethrow_exception(e);
                     } catch (const Error& ae) {
                       error = ae;
                     } catch (...) {
                       other = true;
                     }
                   });
    io.run();
    EXPECT_FALSE(other);
    stats_ = client.stats();
    return error;
  }

  core::Runtime runtime_{{.workers = 1}};
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::string ca_pem_;
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("basalt-acme-client-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::atomic<int> nonce_{0}, account_calls_{0};
  int bad_nonces_ = 0, rate_limits_ = 0;
  std::string retry_after_ = "1";
  NeverSolver solver_;
  ClientStats stats_;
};

TEST_F(FakeCaTest, ARefusedOrderSaysWhatAndWhyForEachName) {
  auto error = order();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->step(), "order");
  ASSERT_TRUE(error->problem());
  EXPECT_TRUE(error->problem()->is("rejectedIdentifier"));
  std::string what = error->what();
  EXPECT_NE(what.find("HTTP 403, rejectedIdentifier: \"Error creating new order\""), std::string::npos)
      << what;
  EXPECT_NE(what.find("bad.example.com: rejectedIdentifier: \"Domain name is on the blocklist\""),
            std::string::npos)
      << what;
  EXPECT_EQ(solver_.presented, 0);
}

TEST_F(FakeCaTest, AShortRetryAfterIsWaitedOut) {
  rate_limits_ = 1;
  retry_after_ = "1";
  auto error = order();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->step(), "order") << error->what();  // the account step went through after the wait
  EXPECT_EQ(stats_.rate_limit_waits, 1u);
  EXPECT_EQ(account_calls_, 2);
}

TEST_F(FakeCaTest, ALongRetryAfterFailsAndCarriesTheWait) {
  rate_limits_ = 100;
  retry_after_ = "3600";
  auto error = order();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->step(), "account");
  ASSERT_TRUE(error->retry_after);
  EXPECT_EQ(*error->retry_after, std::chrono::seconds(3600));
  EXPECT_NE(std::string(error->what()).find("rateLimited"), std::string::npos) << error->what();
  EXPECT_EQ(stats_.rate_limit_waits, 0u);
  EXPECT_EQ(account_calls_, 1);
}

TEST_F(FakeCaTest, BadNonceIsRetriedWithTheFreshNonce) {
  bad_nonces_ = 2;
  auto error = order();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->step(), "order") << error->what();
  EXPECT_EQ(stats_.bad_nonce_retries, 2u);
  EXPECT_EQ(account_calls_, 3);
}

TEST(Client, RefusesADirectoryThatIsNotHttps) {
  asio::io_context io;
  EXPECT_THROW(Client(io, {.directory = "http://ca.test/dir", .account_key = "/tmp/x"}),
               std::invalid_argument);
  EXPECT_THROW(Client(io, {.directory = "https://ca.test/dir"}), std::invalid_argument);
}

}  // namespace
}  // namespace basalt::acme
