#include "daemon/dns01_solver.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {

std::string Dns01Solver::obstacle(std::string_view domain) const {
  const std::string challenge = record_name(domain);
  auto name = Name::from_text(challenge);
  auto zone = name ? server_.find_zone(*name) : nullptr;
  if (!zone) {
    std::string zones;
    for (const auto& apex : server_.zone_apexes()) zones += (zones.empty() ? "" : ", ") + apex.to_string();
    return fmt::format("\"{}\" is not in a zone this server is authoritative for (zones: {})", domain,
                       zones.empty() ? "none" : zones);
  }
  auto lk = zone->lookup(*name, RRType::kTXT);
  if (lk.match == Zone::Match::kDelegation) {
    return fmt::format(
        "\"{}\" is delegated away at {} (a zone cut in {}): this server is not authoritative for it", domain,
        lk.node_name.to_string(), zone->apex().to_string());
  }
  if ((lk.match == Zone::Match::kExact || lk.match == Zone::Match::kWildcard) &&
      (lk.node->find(RRType::kTXT) || lk.node->find(RRType::kCNAME))) {
    return fmt::format("zone data of {} answers {} itself ({} at {}), which would hide the challenge record",
                       zone->apex().to_string(), challenge, lk.node->find(RRType::kCNAME) ? "CNAME" : "TXT",
                       lk.match == Zone::Match::kWildcard ? lk.node_name.to_string() : name->to_string());
  }
  return {};
}

std::string Dns01Solver::record_name(std::string_view domain) {
  if (domain.starts_with("*.")) domain.remove_prefix(2);
  std::string name = "_acme-challenge.";
  name += domain;
  return name;
}

std::string Dns01Solver::present_value(std::string_view domain, std::string_view value) {
  auto name = record_name(domain);
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(name, std::string(value));
  if (auto it = handlers_.find(key); it != handlers_.end()) {
    ++it->second.references;
    return name;
  }
  auto owner = Name::from_text(name);
  if (!owner) throw std::invalid_argument("\"" + name + "\" is not a domain name");
  rdata::TXT txt{{std::string(value)}};
  Record record{*owner, RRType::kTXT, RRClass::kIN, kTtl, txt.encode()};
  // Under the lock, so that a concurrent present of the same value cannot add a second handler.
  auto id =
      server_.handle(name, {RRType::kTXT}, [record](const Query&) { return std::vector<Record>{record}; });
  handlers_.emplace(std::move(key), Presented{id, 1});
  spdlog::info("ACME: serving {} TXT \"{}\"", name, value);
  return name;
}

bool Dns01Solver::remove_value(std::string_view domain, std::string_view value) {
  auto name = record_name(domain);
  std::lock_guard lock(mutex_);
  auto it = handlers_.find(std::make_pair(name, std::string(value)));
  if (it == handlers_.end()) return false;
  if (--it->second.references > 0) return true;
  server_.remove_handler(it->second.handler);
  handlers_.erase(it);
  spdlog::info("ACME: removed {} TXT \"{}\"", name, value);
  return true;
}

boost::asio::awaitable<void> Dns01Solver::present(const acme::ChallengeTask& task) {
  present_value(task.domain, task.dns_record_value());
  co_return;
}

boost::asio::awaitable<void> Dns01Solver::cleanup(const acme::ChallengeTask& task) {
  remove_value(task.domain, task.dns_record_value());
  co_return;
}

}  // namespace basalt::dns
