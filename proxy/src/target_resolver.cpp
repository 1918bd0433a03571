#include "target_resolver.hpp"

#include <algorithm>

#include "basalt/dns/client/client.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;

TargetResolver::TargetResolver(asio::io_context& io, Options options)
    : io_(io), options_(std::move(options)) {}

TargetResolver::~TargetResolver() = default;

asio::awaitable<std::vector<core::IpAddress>> TargetResolver::resolve(const std::string& host,
                                                                      std::string& reason) {
  if (auto literal = core::IpAddress::parse(host)) co_return std::vector<core::IpAddress>{*literal};
  auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(host); it != cache_.end() && it->second.expires > now) {
    reason = it->second.reason;
    co_return it->second.addresses;
  }
  if (!client_) {
    dns::ClientOptions o;
    if (options_.servers.empty()) {
      o.strategy = dns::Strategy::kSystem;
    } else {
      o.strategy = dns::Strategy::kUdp;
      o.udp_upstreams = options_.servers;
    }
    o.allow_doh_fallback = false;
    o.doh_urls.clear();
    o.dnssec_ok = false;
    client_ = std::make_unique<dns::Client>(io_, o);
  }
  Entry entry;
  std::uint32_t ttl = 3600;
  for (auto type : {dns::RRType::kA, dns::RRType::kAAAA}) {
    auto result = co_await client_->query(host, type);
    if (!result) {
      if (entry.reason.empty()) entry.reason = result.error;
      continue;
    }
    for (const auto& answer : result.answers) {
      if (auto address = core::IpAddress::parse(answer.value)) {
        entry.addresses.push_back(*address);
        ttl = std::min(ttl, answer.ttl);
      }
    }
  }
  if (entry.addresses.empty()) {
    if (entry.reason.empty()) entry.reason = "no A or AAAA record";
    entry.expires = now + std::chrono::seconds(5);
  } else {
    entry.reason.clear();
    entry.expires = now + std::chrono::seconds(std::max<std::uint32_t>(ttl, 1));
  }
  if (cache_.size() >= kMaxNames) {
    auto oldest = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.expires < b.second.expires;
    });
    cache_.erase(oldest);
  }
  reason = entry.reason;
  auto addresses = entry.addresses;
  cache_.insert_or_assign(host, std::move(entry));
  co_return addresses;
}

}  // namespace basalt::proxy
