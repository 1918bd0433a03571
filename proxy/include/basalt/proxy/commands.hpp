// basalt-proxy's management commands (JSON lines, the smartrust framing of
// core/management), for engine mode (`basalt-proxy --management`: starts
// idle, a driver sends `start {config}`) and for a daemon's
// `--management-socket` (the proxy already runs; `stop` ends the daemon).
//
//   start {config}                 the options object (ISmartProxyOptions); engine mode
//   stop {}                        engine: stop the proxy (drain); daemon: the daemon's stop
//   updateRoutes {routes}          atomic; an invalid list changes nothing
//   getListeningPorts {}           {ports: [...]}
//   addListeningPort {port}        hold a port open without a route
//   removeListeningPort {port}
//   getMetrics {topIPs?, historySeconds?}
//   getStatistics {}
//   getCertificateStatus {routeName}
//   setConnectionEvents {enabled}  events connectionOpened / connectionClosed
//   drain {graceMs?}               stop accepting, drain (default drainTimeout);
//                                  daemon: exit when done; engine: as stop
//
// Events: started, stopped (engine mode), connectionOpened, connectionClosed.
// Bad parameters fail with the parameter's name; a failed command changes
// nothing. Thread-safety: handlers run on the management io_context.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::core::management {
class Registry;
}

namespace basalt::proxy {

class Proxy;

class ProxyCommands {
 public:
  using Emit = std::function<void(std::string_view event, boost::json::value data)>;
  struct Options {
    Emit emit;
    // Daemon mode: what `stop` does (begin the daemon's shutdown). Empty:
    // engine mode, where `start` and `stop` manage the proxy.
    std::function<void()> stop_daemon;
    std::string base_dir;  // relative certificate paths in `start` / `updateRoutes`
    // Daemon mode: what `drain {graceMs}` does (stop accepting, drain for
    // graceMs or drainTimeout, exit when done).
    std::function<void(std::optional<std::chrono::milliseconds> grace)> drain_daemon;
    // Daemon mode: adds the daemon's own fields to getStatistics.
    std::function<void(boost::json::object& statistics)> add_statistics;
  };
  explicit ProxyCommands(Options options);
  ~ProxyCommands();

  // Daemon mode: the proxy the commands act on (not owned; must outlive them).
  void attach(Proxy* proxy);
  void register_commands(core::management::Registry& registry);
  // Engine mode: stops and destroys a proxy started by `start`.
  void shutdown();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace basalt::proxy
