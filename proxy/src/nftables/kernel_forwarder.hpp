// Kernel forwarding: keeps the kernel's nftables tables equal to the
// proxy's RulePlan. Each change is one nft transaction (the plan's tables
// replaced whole, the proxy's tables it no longer needs deleted), so a
// change either lands entirely or leaves the old rules as they were; at
// start the same step removes what a crashed run left. Only tables that
// TableOwnership says are the proxy's are ever replaced or deleted.
//
// Nothing here touches nftables while no route uses it and the state file
// lists no table: a proxy without kernel routes needs neither root nor
// libnftables' netlink socket.
//
// Thread-safety: none; the proxy calls it under its control mutex.
#pragma once

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "nftables/nft_session.hpp"
#include "nftables/rule_plan.hpp"
#include "nftables/table_ownership.hpp"

namespace basalt::proxy {

class KernelForwarder {
 public:
  explicit KernelForwarder(std::filesystem::path state_dir);
  ~KernelForwarder();

  // Makes the kernel hold exactly `plan`. Throws (changing nothing) when a
  // table the plan names exists and is not the proxy's, when forwarding is
  // off for a destination (forwarding_check.hpp), or when nft refuses the
  // transaction (its message, e.g. "Operation not permitted" without
  // CAP_NET_ADMIN).
  void apply(const RulePlan& plan);
  // Deletes the tables this process installed and still owns (stop).
  // Never throws; failures are logged.
  void remove_all() noexcept;

  // Whether any kernel route is installed.
  bool active() const noexcept { return !installed_.routes().empty(); }
  // By route id: {active, ruleCount: {total, added, verified},
  // tablesConfigured: [name]}; `verified` counts the route's rules as the
  // kernel lists them back now.
  boost::json::object status();

 private:
  NftSession& session();
  std::string listing(const std::string& table);

  TableOwnership ownership_;
  std::unique_ptr<NftSession> session_;
  RulePlan installed_;
  std::set<std::string> tables_;  // installed by this process
};

}  // namespace basalt::proxy
