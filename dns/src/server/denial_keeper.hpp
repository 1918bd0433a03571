// Keeps the precomputed denial chains (nsec_chain.hpp) of a server's signed
// zones in step with the data it publishes.
//
// Every change of ServerData goes through update(): in the same atomic
// publication it drops each chain that no longer fits (its zone was
// replaced, the handlers' regions or the signer changed) and builds the
// chains of small zones right there, so their answers never leave the chain.
// Chains of larger zones (10,000 names take seconds to sign with RSA), and
// every re-sign before the signatures' refresh time, are built on a
// background thread and published when ready, if the data they were built
// from is still current; until then those zones answer with white lies.
//
// Thread-safety: update() and fit() may be called from any thread (the
// snapshot serialises writers); the destructor stops the thread, and a
// background build in progress with it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "basalt/core/snapshot.hpp"
#include "basalt/dns/server/responder.hpp"

namespace basalt::dns {

class DenialKeeper {
 public:
  // Zones with at most `inline_names` names get their chain inside update().
  explicit DenialKeeper(core::Snapshot<ServerData>& data, std::size_t inline_names = 256);
  ~DenialKeeper();
  DenialKeeper(const DenialKeeper&) = delete;
  DenialKeeper& operator=(const DenialKeeper&) = delete;

  // Snapshot::update() with the chains brought in step with what `modify` changed.
  template <class F>
  void update(F&& modify) {
    data_.update([&](ServerData& d) {
      std::forward<F>(modify)(d);
      fit(d);
    });
    wake();
  }
  // Brings `d`'s chains in step with its zones, handlers and signers (for
  // data not yet published).
  void fit(ServerData& d) const;
  // Asks the background thread to look at the published data again.
  void wake();

 private:
  void run();
  // Builds at most one chain that is missing or due; returns how long to
  // sleep before looking again (zero: look again at once).
  std::chrono::seconds work();

  core::Snapshot<ServerData>& data_;
  std::size_t inline_names_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool woken_ = false;
  std::stop_source stop_;  // also ends a build in progress
  std::thread thread_;     // last: started once the rest is ready
};

}  // namespace basalt::dns
