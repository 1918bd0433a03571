#include "basalt/core/runtime.hpp"

#include "basalt/core/shutdown.hpp"
#include "basalt/core/socket.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>

#include <csignal>
#include <functional>
#include <future>
#include <set>

namespace basalt::core {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

TEST(Runtime, EveryWorkerRunsOnItsOwnThread) {
  Runtime rt({.workers = 3});
  ASSERT_EQ(rt.workers(), 3u);
  rt.start();
  std::set<std::thread::id> ids;
  for (std::size_t i = 0; i < rt.workers(); ++i) {
    std::promise<std::thread::id> p;
    asio::post(rt.worker(i), [&] { p.set_value(std::this_thread::get_id()); });
    ids.insert(p.get_future().get());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
  rt.stop();
  rt.join();
  EXPECT_TRUE(rt.stopped());
}

TEST(Runtime, TearsDownHandlersThatOwnOtherWorkersSockets) {
  // Pending handlers on each worker own a socket of the other worker: no
  // destruction order of the contexts alone would be safe (a use-after-free
  // that `make asan` reports).
  {
    Runtime rt({.workers = 2});
    for (std::size_t i = 0; i < 2; ++i) {
      auto other = std::make_shared<udp::socket>(rt.worker(1 - i),
                                                 udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      asio::post(rt.worker(i), [other] {});
    }
  }  // never ran: the destructor destroys the handlers
  SUCCEED();
}

TEST(Socket, PerWorkerUdpSocketsShareOnePortAndTogetherReceiveEverything) {
  Runtime rt({.workers = 2});
  auto sockets = open_udp_per_worker(rt, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ASSERT_EQ(sockets.size(), 2u);
  auto port = sockets[0].local_endpoint().port();
  EXPECT_NE(port, 0);
  EXPECT_EQ(sockets[1].local_endpoint().port(), port);

  constexpr int kPackets = 64;
  std::atomic<int> received{0};
  std::promise<void> all;
  std::array<char, 64> bufs[2];
  std::array<udp::endpoint, 2> from;
  std::function<void(int)> arm = [&](int i) {
    sockets[i].async_receive_from(asio::buffer(bufs[i]), from[i], [&, i](auto ec, std::size_t) {
      if (ec) return;
      if (received.fetch_add(1) + 1 == kPackets) all.set_value();
      arm(i);
    });
  };
  arm(0);
  arm(1);
  rt.start();
  asio::io_context client_io;
  for (int i = 0; i < kPackets; ++i) {  // distinct source ports spread over the sockets
    udp::socket client(client_io, udp::endpoint(udp::v4(), 0));
    client.send_to(asio::buffer("x", 1), udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  EXPECT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  rt.stop();
  rt.join();
  EXPECT_EQ(received.load(), kPackets);
}

TEST(Socket, BindErrorsNameTheAddress) {
  asio::io_context io;
  auto first =
      open_tcp(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), {.reuse_port = false});
  auto port = first.local_endpoint().port();
  try {
    open_tcp(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), {.reuse_port = false});
    FAIL() << "second bind succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()), "127.0.0.1:" + std::to_string(port) + "/tcp is already in use");
    EXPECT_EQ(e.code().value(), EADDRINUSE);
  }
}

// SO_REUSEPORT lets every socket of the same user join the group, so without
// a check a second server (here: a second set of workers) would silently get
// part of the traffic. It must fail as a plain bind would.
TEST(Socket, PerWorkerSocketsRefuseAnAddressSomeoneElseServes) {
  Runtime first({.workers = 2});
  Runtime second({.workers = 2});
  auto loopback = asio::ip::make_address("127.0.0.1");
  // A UDP port the kernel picks, then the same for TCP (again if an outgoing
  // connection of another test holds that port for TCP).
  std::vector<udp::socket> udp_sockets;
  std::vector<asio::ip::tcp::acceptor> acceptors;
  std::uint16_t port = 0;
  for (int attempt = 0; acceptors.empty() && attempt < 16; ++attempt) {
    udp_sockets = open_udp_per_worker(first, udp::endpoint(loopback, 0));
    port = udp_sockets.front().local_endpoint().port();
    try {
      acceptors = open_tcp_per_worker(first, asio::ip::tcp::endpoint(loopback, port));
    } catch (const AddressInUse&) {
    }
  }
  ASSERT_FALSE(acceptors.empty());
  auto in_use = [](const std::function<void()>& open) -> std::string {
    try {
      open();
    } catch (const std::system_error& e) {
      return e.what();
    }
    return "<opened>";
  };
  auto where = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(in_use([&] { open_udp_per_worker(second, udp::endpoint(loopback, port)); }),
            where + "/udp is already in use");
  EXPECT_EQ(in_use([&] { open_tcp_per_worker(second, asio::ip::tcp::endpoint(loopback, port)); }),
            where + "/tcp is already in use");
  // A socket holding the address without SO_REUSEPORT is refused the same way.
  udp_sockets.clear();
  udp::socket plain(first.worker(0), udp::endpoint(loopback, port));
  EXPECT_EQ(in_use([&] { open_udp_per_worker(second, udp::endpoint(loopback, port)); }),
            where + "/udp is already in use");
  // Once it is gone, the address is free again.
  plain.close();
  EXPECT_EQ(open_udp_per_worker(second, udp::endpoint(loopback, port)).size(), 2u);
}

TEST(Shutdown, WaitsForInFlightWorkThenStops) {
  Runtime rt({.workers = 1});
  Shutdown shutdown(rt, std::chrono::seconds(30));
  std::atomic<bool> listeners_closed{false};
  shutdown.on_begin([&] { listeners_closed = true; });
  rt.start();
  auto token = shutdown.hold();
  shutdown.begin("test");
  // While a token is held the runtime keeps running: work posted now still runs.
  std::promise<void> ran;
  asio::post(rt.worker(0), [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(shutdown.draining());
  token = Shutdown::Token();  // release
  rt.join();
  EXPECT_TRUE(rt.stopped());
  EXPECT_TRUE(listeners_closed.load());
}

TEST(Shutdown, DrainTimeoutStopsDespiteStuckWork) {
  Runtime rt({.workers = 1});
  Shutdown shutdown(rt, std::chrono::milliseconds(50));
  rt.start();
  auto stuck = shutdown.hold();
  shutdown.begin("test");
  rt.join();  // returns only because the drain timeout stopped the runtime
  EXPECT_TRUE(rt.stopped());
  EXPECT_EQ(shutdown.in_flight(), 1u);
}

TEST(Shutdown, BeginCanShortenTheDrainTimeout) {
  Runtime rt({.workers = 1});
  Shutdown shutdown(rt, std::chrono::hours(1));
  rt.start();
  auto stuck = shutdown.hold();
  shutdown.begin("test", std::chrono::milliseconds(50));
  rt.join();  // an hour-long default would hang here
  EXPECT_TRUE(rt.stopped());
}

TEST(Shutdown, SigtermBeginsShutdown) {
  Runtime rt({.workers = 1});
  Shutdown shutdown(rt, std::chrono::seconds(5));
  shutdown.watch_signals();
  rt.start();
  std::promise<void> armed;
  asio::post(rt.control(), [&] { armed.set_value(); });
  armed.get_future().wait();
  ::kill(::getpid(), SIGTERM);
  rt.join();
  EXPECT_TRUE(shutdown.draining());
}

}  // namespace
}  // namespace basalt::core
