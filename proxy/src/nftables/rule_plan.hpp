// The kernel rules for the routes with `forwardingEngine: nftables`: which
// nftables tables they need and what each holds, as nft script text. A pure
// function of the route table (no system calls), so every rule is unit-tested
// as text and the applier (kernel_forwarder.hpp) only sends it.
//
// Each kernel route becomes, in its table (family inet):
//   filter_prerouting / filter_output: drop sources in its block set, or not
//     in its allow set (named sets <tag>_block, <tag>_allow);
//   nat_prerouting / nat_output: DNAT of its ports, on local addresses only
//     (`fib daddr type local`), to toHost and toPort (a map when ports are
//     mapped one to one);
//   nat_postrouting: masquerade of what it DNATed, unless preserveSourceIP.
// Every rule carries the comment "<tag>" ("r" + the route's position), by
// which the rules are counted back per route.
//
//   auto plan = RulePlan::build(table.routes());   // throws core::config::Error
//   session.run(plan.script("basalt-proxy pid=42", {"old_table"}));
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "routes/route_table.hpp"

namespace basalt::proxy {

class RulePlan {
 public:
  struct PlannedRoute {
    std::string id;     // the route's id
    std::string tag;    // "r<position>": the comment on each of its rules
    std::string table;  // the table it lives in
    std::size_t rules = 0;
  };
  struct Table {
    std::string name;
    std::vector<std::string> sets;       // declarations
    std::vector<std::string> chains[5];  // rules by chain, in kChains order
  };
  static constexpr std::string_view kFamily = "inet";

  // The rules for every enabled kernel route of `routes`. Throws
  // core::config::Error naming routes[i] for what only the whole list
  // shows: ports that overlap another route's, a toPort list that does not
  // match the route's ports.
  static RulePlan build(const std::vector<Route>& routes);

  const std::vector<PlannedRoute>& routes() const noexcept { return routes_; }
  const std::vector<Table>& tables() const noexcept { return tables_; }
  std::vector<std::string> table_names() const;
  bool empty() const noexcept { return tables_.empty(); }
  // The destinations that need this host to forward (not a local address is
  // decided by the caller): route id and address.
  struct Destination {
    std::string route;
    std::string address;
  };
  const std::vector<Destination>& destinations() const noexcept { return destinations_; }

  // One nft transaction: each table of the plan replaced whole (created when
  // missing) with `owner` as its comment, and each of `remove` deleted.
  // A name in `remove` that does not exist is no error.
  std::string script(std::string_view owner, const std::vector<std::string>& remove) const;

 private:
  std::vector<PlannedRoute> routes_;
  std::vector<Table> tables_;
  std::vector<Destination> destinations_;
};

}  // namespace basalt::proxy
