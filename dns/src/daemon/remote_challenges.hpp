// dns-01 challenge records that another process (the proxy, ordering its own
// certificates) publishes through this server: the management commands
// addAcmeChallenge and removeAcmeChallenge. The records go through the
// daemon's Dns01Solver, so they are checked (obstacle()) and served exactly
// like the daemon's own challenges.
//
// What a client can cost is bounded: at most `max_records` records at once,
// and each is withdrawn `lifetime` after it was (last) added if nobody
// removes it, so a client that crashes mid-order leaves nothing behind for
// long. Only records added here can be removed here: a client cannot
// withdraw the daemon's own challenges.
//
// Thread-safety: add() and remove() may be called from any thread; expiry
// runs on `control` (the server's control io_context), which must outlive
// this object or be stopped before it is destroyed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace basalt::core::management {
class Registry;
}

namespace basalt::dns {

class Dns01Solver;

class RemoteChallenges {
 public:
  struct Limits {
    std::size_t max_records = 1000;
    std::chrono::steady_clock::duration lifetime = std::chrono::hours(1);
  };

  RemoteChallenges(Dns01Solver& solver, boost::asio::io_context& control, Limits limits);
  RemoteChallenges(Dns01Solver& solver, boost::asio::io_context& control)
      : RemoteChallenges(solver, control, Limits{}) {}
  ~RemoteChallenges();
  RemoteChallenges(const RemoteChallenges&) = delete;
  RemoteChallenges& operator=(const RemoteChallenges&) = delete;

  struct Added {
    std::string name;  // "_acme-challenge.<base>"
    std::uint32_t ttl = 0;
  };
  // Serves TXT `value` at _acme-challenge.<domain's base>. `domain` is a host
  // name, "*." allowed (lowercased, a trailing dot dropped); `value` 1-255
  // characters of base64url. Adding a record that is already served changes
  // nothing but restarts its lifetime. Throws core::config::Error naming
  // `domain` or `value` (a malformed one, or a name the server cannot answer
  // for: obstacle()'s reason), or std::runtime_error when `max_records` are
  // served; nothing changes then.
  Added add(std::string_view domain, std::string_view value);
  // Withdraws a record add() served; false if there is none. Throws
  // core::config::Error for a malformed domain or value.
  bool remove(std::string_view domain, std::string_view value);
  std::size_t size() const;

  // addAcmeChallenge {domain, value} -> {name, ttl};
  // removeAcmeChallenge {domain, value} -> {removed}.
  void register_commands(core::management::Registry& registry);

 private:
  using Key = std::pair<std::string, std::string>;  // (record name, value)
  struct Entry {
    std::string domain;  // as given to the solver (normalized)
    std::chrono::steady_clock::time_point expires;
  };

  // The name's normalized domain and checked value, or config::Error.
  static std::pair<std::string, std::string> checked(std::string_view domain, std::string_view value);
  // (Re)arms the timer for the earliest expiry; on `control_` only.
  void schedule();
  // Withdraws the records whose time is up; on `control_` only.
  void expire();

  Dns01Solver& solver_;
  boost::asio::io_context& control_;
  const Limits limits_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> records_;     // under mutex_
  boost::asio::steady_timer timer_;  // on control_ only
};

}  // namespace basalt::dns
