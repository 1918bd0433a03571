// Backend addresses of a target host: an IP literal as it is, a DNS name
// through basalt's own dns::Client (the `dns.servers` of the options, else
// the system resolver), cached per worker until the answer's TTL runs out
// (at least 1 s, at most 1 hour). A name that does not resolve gives an
// empty list and a reason; the failure is cached for 5 s so a dead resolver
// is not asked on every connection.
//
// Bounds: the cache holds at most kMaxNames names (targets come from the
// configuration, so this is only a safety net); the oldest entry goes first.
// Not thread-safe: one per worker.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "basalt/core/ip.hpp"

namespace basalt::dns {
class Client;
}

namespace basalt::proxy {

class TargetResolver {
 public:
  static constexpr std::size_t kMaxNames = 4096;
  struct Options {
    std::vector<core::Endpoint> servers;  // empty: the system resolver
  };
  TargetResolver(boost::asio::io_context& io, Options options);
  ~TargetResolver();

  // The addresses of `host` (A then AAAA); `reason` says why when empty.
  boost::asio::awaitable<std::vector<core::IpAddress>> resolve(const std::string& host, std::string& reason);

 private:
  struct Entry {
    std::vector<core::IpAddress> addresses;
    std::string reason;
    std::chrono::steady_clock::time_point expires;
  };
  boost::asio::io_context& io_;
  Options options_;
  std::unique_ptr<dns::Client> client_;
  std::map<std::string, Entry, std::less<>> cache_;
};

}  // namespace basalt::proxy
