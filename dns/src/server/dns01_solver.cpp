#include "server/dns01_solver.hpp"

#include <spdlog/spdlog.h>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {

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
