// The dns-01 challenge solver of a dns::Server: each challenge becomes a
// handler for `_acme-challenge.<domain>` TXT on the server, removed again at
// cleanup. Several challenges for one name (a name and its wildcard) are
// several handlers, so the answer carries every value. obstacle() tells,
// before a CA is asked, whether the server can answer a name's challenge.
// present_value() / remove_value() are the same for a value computed
// elsewhere (another process's order, through the management socket:
// remote_challenges.hpp).
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "basalt/acme/solver.hpp"
#include "basalt/dns/server/handler_table.hpp"

namespace basalt::dns {

class Server;

class Dns01Solver : public acme::ChallengeSolver {
 public:
  explicit Dns01Solver(Server& server) : server_(server) {}
  std::string_view type() const override { return "dns-01"; }
  boost::asio::awaitable<void> present(const acme::ChallengeTask& task) override;
  boost::asio::awaitable<void> cleanup(const acme::ChallengeTask& task) override;

  // Why the server cannot answer the dns-01 challenge of `domain`
  // (normalised, "*." allowed), or "" when it can: the name must lie in a
  // served zone, not below a zone cut, and zone data must not answer its
  // _acme-challenge TXT itself (a static record or a wildcard would hide the
  // challenge record).
  std::string obstacle(std::string_view domain) const;

  // Serves `value` as a TXT string at record_name(domain) until
  // remove_value(); returns that name. Presenting the same (name, value)
  // again serves one record and takes one more remove_value() to withdraw,
  // so two users of one value (the daemon's own order and another process)
  // do not withdraw it from each other. Check obstacle() first: a name
  // outside the zones throws std::invalid_argument.
  std::string present_value(std::string_view domain, std::string_view value);
  // Withdraws one presentation of (record_name(domain), value); false when
  // none is held.
  bool remove_value(std::string_view domain, std::string_view value);

  // "_acme-challenge.<domain>", "*." dropped (a wildcard is validated at its base name).
  static std::string record_name(std::string_view domain);

  // TTL of the challenge records: short, so that a retried order is not
  // answered from a resolver's cache.
  static constexpr std::uint32_t kTtl = 60;

 private:
  struct Presented {
    HandlerId handler = 0;
    std::size_t references = 0;
  };

  Server& server_;
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Presented> handlers_;  // (name, value)
};

}  // namespace basalt::dns
