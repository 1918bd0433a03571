#include "basalt/core/source_steering.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio.hpp>

#include <map>
#include <set>
#include <string>

#include "basalt/core/runtime.hpp"
#include "basalt/core/socket.hpp"

namespace basalt::core {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

// Which socket of `group` each of `sources` (loopback addresses, 8 source
// ports each) reaches: source -> the set of socket indexes.
std::map<std::string, std::set<std::size_t>> landing(std::vector<udp::socket>& group,
                                                     const std::vector<std::string>& sources) {
  asio::io_context io;
  const auto to = group.front().local_endpoint();
  for (const auto& source : sources) {
    for (int port = 0; port < 8; ++port) {
      udp::socket s(io, udp::endpoint(asio::ip::make_address(source), 0));
      s.send_to(asio::buffer(source), to);
    }
  }
  std::map<std::string, std::set<std::size_t>> out;
  for (std::size_t i = 0; i < group.size(); ++i) {
    group[i].non_blocking(true);
    std::array<char, 64> buf;
    udp::endpoint from;
    boost::system::error_code ec;
    for (;;) {
      auto n = group[i].receive_from(asio::buffer(buf), from, 0, ec);
      if (ec) break;
      out[std::string(buf.data(), n)].insert(i);
    }
  }
  return out;
}

TEST(SourceSteering, EveryDatagramOfANetworkReachesOneSocket) {
  Runtime rt({.workers = 4});
  auto group = open_udp_per_worker(rt, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  steer_by_source_network(group);
  const std::vector<std::string> sources = {"127.0.1.2", "127.0.1.77", "127.0.2.3", "127.0.3.4", "127.0.4.5"};
  auto seen = landing(group, sources);
  ASSERT_EQ(seen.size(), sources.size());
  // Eight source ports, one socket, per address; one /24, one socket.
  for (const auto& [source, sockets] : seen) EXPECT_EQ(sockets.size(), 1u) << source;
  EXPECT_EQ(seen["127.0.1.2"], seen["127.0.1.77"]);
  // Neighbouring networks go to different sockets.
  std::set<std::size_t> networks;
  for (auto s : {"127.0.1.2", "127.0.2.3", "127.0.3.4", "127.0.4.5"}) networks.insert(*seen[s].begin());
  EXPECT_EQ(networks.size(), 4u);
}

TEST(SourceSteering, WithoutItOneHostSpreadsOverTheGroup) {
  // What steering changes: the kernel's hash of addresses and ports sends
  // one host's source ports to several sockets.
  Runtime rt({.workers = 4});
  auto group = open_udp_per_worker(rt, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto seen = landing(group, {"127.0.1.2"});
  EXPECT_GT(seen["127.0.1.2"].size(), 1u);
}

TEST(SourceSteering, Ipv6NetworksToo) {
  Runtime rt({.workers = 2});
  auto group = open_udp_per_worker(rt, udp::endpoint(asio::ip::make_address("::1"), 0));
  steer_by_source_network(group);
  auto seen = landing(group, {"::1"});
  EXPECT_EQ(seen["::1"].size(), 1u);
}

}  // namespace
}  // namespace basalt::core
