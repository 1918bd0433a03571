#include "daemon/dns01_solver.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {

std::string Dns01Solver::obstacle(std::string_view domain) const {
  std::string_view base = domain;
  if (base.starts_with("*.")) base.remove_prefix(2);
  std::string challenge = "_acme-challenge.";
  challenge += base;
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

boost::asio::awaitable<void> Dns01Solver::present(const acme::ChallengeTask& task) {
  auto name = task.dns_record_name();
  auto owner = Name::from_text(name);
  if (!owner) throw std::invalid_argument("\"" + name + "\" is not a domain name");
  rdata::TXT txt{{task.dns_record_value()}};
  Record record{*owner, RRType::kTXT, RRClass::kIN, kTtl, txt.encode()};
  auto id =
      server_.handle(name, {RRType::kTXT}, [record](const Query&) { return std::vector<Record>{record}; });
  {
    std::lock_guard lock(mutex_);
    handlers_[{name, task.dns_record_value()}] = id;
  }
  spdlog::info("ACME: serving {} TXT \"{}\"", name, task.dns_record_value());
  co_return;
}

boost::asio::awaitable<void> Dns01Solver::cleanup(const acme::ChallengeTask& task) {
  HandlerId id = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = handlers_.find({task.dns_record_name(), task.dns_record_value()});
    if (it == handlers_.end()) co_return;
    id = it->second;
    handlers_.erase(it);
  }
  server_.remove_handler(id);
  spdlog::info("ACME: removed {} TXT \"{}\"", task.dns_record_name(), task.dns_record_value());
}

}  // namespace basalt::dns
