// Lookups per second and latency of dns::Client (UDP) against one server,
// with `--concurrency` queries in flight, and the memory each in-flight
// query costs (measured against a silent upstream, so queries stay pending).
//   basalt-bench-dns-client --server 127.0.0.1:5353 --queries 20000 --concurrency 1
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "basalt/dns/client/client.hpp"

namespace asio = boost::asio;
using namespace basalt;
using Clock = std::chrono::steady_clock;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app("dns::Client benchmark");
  std::string server = "127.0.0.1:5353";
  int queries = 20000, concurrency = 1, pending = 2000;
  std::vector<std::string> names = {"www.example.test", "mail.example.test", "ns1.example.test"};
  app.add_option("--server", server);
  app.add_option("--queries", queries);
  app.add_option("--concurrency", concurrency);
  app.add_option("--pending", pending, "in-flight queries for the memory figure");
  CLI11_PARSE(app, argc, argv);

  asio::io_context io(1);
  dns::ClientOptions o;
  o.strategy = dns::Strategy::kUdp;
  o.udp_upstreams = {*core::Endpoint::parse(server)};
  o.doh_urls = {};
  dns::Client client(io, o);
  std::vector<double> lat;
  lat.reserve(queries);
  int next = 0, failed = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < queries) {
      int i = next++;
      auto t0 = Clock::now();
      auto r = co_await client.query(names[i % names.size()], dns::RRType::kA);
      lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (!r || r.answers.empty()) ++failed;
    }
  };
  auto start = Clock::now();
  for (int w = 0; w < concurrency; ++w) asio::co_spawn(io, worker(), asio::detached);
  io.run();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, std::size_t(p * lat.size()))];
  };
  std::printf("queries %d concurrency %d failed %d qps %.0f p50_us %.1f p99_us %.1f\n", queries, concurrency,
              failed, queries / secs, pct(0.5), pct(0.99));

  // Memory per in-flight query: a socket that never answers keeps them pending.
  int silent = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);
  asio::io_context io2(1);
  dns::ClientOptions so = o;
  so.udp_upstreams = {core::Endpoint{core::IpAddress::v4_loopback(), ntohs(a.sin_port)}};
  so.timeout = std::chrono::milliseconds(3000);
  so.attempt_timeout = so.timeout;
  so.retries = 0;
  dns::Client slow(io2, so);
  long before = rss_kib();
  for (int i = 0; i < pending; ++i) {
    asio::co_spawn(io2, slow.query("www.example.test", dns::RRType::kA), asio::detached);
  }
  io2.run_for(std::chrono::milliseconds(500));  // all sent, all waiting
  long during = rss_kib();
  std::printf("in_flight %d rss_delta_kib %ld bytes_per_query %.0f\n", pending, during - before,
              (during - before) * 1024.0 / pending);
  io2.run();
  ::close(silent);
  return 0;
}
