#include "server/denial_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace basalt::dns {
namespace {

// The chain for `zone`, or null (logged) if signing failed.
std::shared_ptr<const DenialChain> build(const std::shared_ptr<const Zone>& zone, DenialRegions regions,
                                         const std::shared_ptr<const ZoneSigner>& signer,
                                         std::stop_token stop = {}) {
  try {
    auto started = std::chrono::steady_clock::now();
    auto chain = DenialChain::build(zone, std::move(regions), signer, stop);
    if (!chain) return nullptr;  // stopped
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    spdlog::info("DNSSEC: {} chain of {} signed: {} records in {} ms", to_string(chain->type()),
                 zone->apex().to_string(), chain->records().size(), ms.count());
    return chain;
  } catch (const std::exception& e) {
    spdlog::error("DNSSEC: signing the denial chain of {} failed ({}); denial uses white lies",
                  zone->apex().to_string(), e.what());
    return nullptr;
  }
}

// The chain in `d` for the zone at `apex`, whatever zone object it was built from.
std::shared_ptr<const DenialChain> chain_of(const ServerData& d, const Name& apex) {
  for (const auto& c : d.chains) {
    if (c->zone().apex() == apex) return c;
  }
  return nullptr;
}

}  // namespace

DenialKeeper::DenialKeeper(core::Snapshot<ServerData>& data, std::size_t inline_names)
    : data_(data), inline_names_(inline_names), thread_([this] { run(); }) {}

DenialKeeper::~DenialKeeper() {
  {
    std::lock_guard lock(mutex_);
    stop_.request_stop();
  }
  wakeup_.notify_all();
  thread_.join();
}

void DenialKeeper::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void DenialKeeper::fit(ServerData& d) const {
  std::vector<std::shared_ptr<const DenialChain>> chains;
  for (const auto& signer : d.signers) {
    auto zone = d.zones.get(signer->apex());
    if (!zone) continue;
    auto regions = d.reachable(*zone);
    if (!DenialChain::possible(regions, *signer)) continue;  // white lies everywhere
    auto current = chain_of(d, zone->apex());
    if (current && current->built_for(*zone, regions, *signer)) {
      chains.push_back(std::move(current));
    } else if (zone->node_count() <= inline_names_) {
      if (auto chain = build(zone, std::move(regions), signer)) chains.push_back(std::move(chain));
    }
  }
  d.chains = std::move(chains);
}

std::chrono::seconds DenialKeeper::work() {
  using std::chrono::seconds;
  auto d = data_.load();
  seconds sleep = std::chrono::hours(1);  // at least hourly: the wall clock may jump
  for (const auto& signer : d->signers) {
    auto zone = d->zones.get(signer->apex());
    if (!zone) continue;
    auto regions = d->reachable(*zone);
    if (!DenialChain::possible(regions, *signer)) continue;
    auto current = chain_of(*d, zone->apex());
    const auto now = signer->now();
    if (current && current->built_for(*zone, regions, *signer) && now < current->refresh_at()) {
      sleep = std::min(sleep, seconds(std::max<std::int64_t>(1, current->refresh_at() - now)));
      continue;
    }
    auto chain = build(zone, regions, signer, stop_.get_token());
    if (stop_.stop_requested()) return seconds(0);
    if (!chain) {
      sleep = std::min(sleep, seconds(60));  // try again in a minute
      continue;
    }
    data_.update([&](ServerData& next) {
      // Published only if built from what is still current; otherwise the
      // next round builds for the new data.
      if (next.zones.get(zone->apex()) != zone || next.signer(*zone) != signer.get() ||
          !(next.reachable(*zone) == regions))
        return;
      std::erase_if(next.chains, [&](const auto& c) { return c->zone().apex() == zone->apex(); });
      next.chains.push_back(chain);
    });
    return seconds(0);
  }
  return sleep;
}

void DenialKeeper::run() {
  std::unique_lock lock(mutex_);
  while (!stop_.stop_requested()) {
    woken_ = false;
    lock.unlock();
    auto sleep = work();
    lock.lock();
    if (sleep.count() == 0) continue;
    wakeup_.wait_for(lock, sleep, [&] { return stop_.stop_requested() || woken_; });
  }
}

}  // namespace basalt::dns
