// Active health checks (`loadBalancing.healthCheck`): GET `path` on each
// checked backend every `interval`, and mark it down after
// `unhealthyThreshold` failures in a row, up after `healthyThreshold`
// successes in a row (BackendState::record_check). A 2xx or 3xx answer
// within `timeout` is a success; any other status, a connect failure or a
// timeout is a failure. Each change (up -> down, down -> up) is logged once,
// naming the route, the backend and the reason.
//
// A check is `GET http://host:port/path` over plain HTTP/1.1 on a new
// connection each time (as HAProxy does, so a backend that stopped accepting
// connections is noticed), with `user-agent: basalt-proxy-health-check`; an
// IP-address host is connected to directly, a name is resolved by the HTTP
// client each time. Only the response head is awaited; the body is dropped.
// Not checked: backends with `port: preserve` (no port to check; logged once
// at info) and backends reached over TLS (passthrough, re-encryption: checks
// over TLS are not implemented; logged once per route at warn). They stay UP.
//
// The checker owns an io_context and one thread: start() starts it, stop()
// (and the destructor) cancels the checks, waits for checks in flight to end
// (each at most its `timeout`) and joins. At most one check per backend is
// in flight; the next starts `interval` after the previous one ended. The
// first check of a new backend starts within min(interval, 1 s), spread at
// random so that many backends are not all checked at the same instant.
//
// update() is given every pool of a new route table: new backends get
// checks, backends no pool checks any more lose theirs, kept backends go on
// with their state (which lives in the HealthRegistry) and take the new
// settings at their next check. Backends are known by HealthRegistry::key().
//
// Thread-safety: update() and checked_backends() may be called from any
// thread; start() and stop() from one thread at a time. start() once.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace basalt::proxy {

class BackendPool;

class HealthChecker {
 public:
  HealthChecker();
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void start();
  void stop();

  // The checks to run from now on: those of `pools` (takes effect on the
  // checker's thread shortly after; before start(), once started).
  void update(std::vector<std::shared_ptr<BackendPool>> pools);

  // Backends being checked (after the last update() took effect).
  std::size_t checked_backends() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::proxy
