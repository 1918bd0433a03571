#include "basalt/proxy/daemon.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <system_error>
#include <thread>

#include "basalt/core/config.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/service_notify.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/socket.hpp"
#include "basalt/proxy/commands.hpp"
#include "basalt/proxy/proxy.hpp"
#include "basalt/service/metrics_listener.hpp"
#include "daemon/successor.hpp"
#include "daemon/takeover.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;

ProxyOptions load_options_file(const std::string& path) {
  auto base = std::filesystem::path(path).parent_path().string();
  try {
    return decode_options(core::config::load_file(path), base);
  } catch (const core::config::Error& e) {
    if (e.path().starts_with(path)) throw;
    throw core::config::Error(path + ": " + e.path(), e.message());
  }
}

namespace {

// Many connections need many descriptors: the soft limit goes to the hard one.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the open-file limit");
}

void drop_privileges(const std::string& user) {
  if (user.empty()) return;
  if (geteuid() != 0) {
    spdlog::info("`user: {}` ignored: not started as root", user);
    return;
  }
  passwd* pw = getpwnam(user.c_str());
  if (!pw) throw core::config::Error("user", "\"" + user + "\" is not a user on this system");
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
    throw std::system_error(errno, std::generic_category(), "dropping privileges to " + user);
  spdlog::info("running as {} (uid {})", user, pw->pw_uid);
}

// <stateDir>/takeover.sock unless the file names one.
std::string takeover_path(const ProxyOptions& options) {
  if (!options.takeover_socket.empty()) return options.takeover_socket;
  return (std::filesystem::path(options.state_dir) / "takeover.sock").string();
}

// A successor binds the metrics address after its predecessor has let it go,
// which that one does on its own threads as its drain begins: wait (at most
// `limit`) until the address is free. False when it is still taken.
bool wait_until_free(const core::Endpoint& at, std::chrono::milliseconds limit) {
  asio::io_context io;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    try {
      core::open_tcp(io, core::to_asio<asio::ip::tcp>(at), {.reuse_port = false});
      return true;
    } catch (const core::AddressInUse&) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const std::system_error&) {
      return true;  // the real bind reports it
    }
  }
}

// The takeover socket of a serving proxy: a successor receives its
// listening sockets there, then this process stops accepting and drains.
void start_takeover_server(std::optional<TakeoverServer>& takeover, const std::string& path, Proxy& proxy,
                           const std::unique_ptr<Predecessor>& predecessor,
                           std::optional<core::management::Server>& management) {
  TakeoverServer::Hooks hooks{.sockets = [&proxy] { return proxy.listening_sockets(); },
                              .handover =
                                  [&proxy, &predecessor, &management](pid_t successor) {
                                    // At most one generation drains: the one before this goes now.
                                    if (predecessor) predecessor->close_now(std::chrono::seconds(5));
                                    if (management) management->stop_listening();
                                    proxy.drain(proxy.options().drain_timeout,
                                                fmt::format("taken over by pid {}", successor));
                                  },
                              .open_connections = [&proxy] { return proxy.open_connections(); },
                              .close_now =
                                  [&proxy] {
                                    spdlog::warn("closing {} connections now", proxy.open_connections());
                                    proxy.runtime().stop();
                                  }};
  takeover.emplace(path, std::move(hooks));
}

}  // namespace

struct Daemon::Impl {
  Options flags;
  ProxyOptions options;
};

Daemon::Daemon(Options flags) : impl_(std::make_unique<Impl>()) {
  impl_->options = load_options_file(flags.config_file);
  if (flags.workers) impl_->options.workers = *flags.workers;
  if (!flags.state_dir.empty()) impl_->options.state_dir = flags.state_dir;
  if (impl_->options.state_dir.empty()) impl_->options.state_dir = kDefaultStateDir;
  if (flags.log_level) impl_->options.log_level = *flags.log_level;
  impl_->flags = std::move(flags);
}

Daemon::~Daemon() = default;

int Daemon::run() {
  auto& options = impl_->options;
  core::init_logging(options.log_level);
  raise_file_limit();
  Proxy proxy(options);
  proxy.stop_on_signals();

  // Set up before any thread that reads them starts; torn down in reverse.
  std::unique_ptr<Predecessor> predecessor;
  std::optional<TakeoverServer> takeover;
  core::management::Registry registry;
  std::optional<core::management::Server> management;
  // Events come from the proxy's threads (the certificate thread at start):
  // they see the server only once it is fully made.
  std::atomic<core::management::Server*> events_to{nullptr};
  ProxyCommands commands({.emit =
                              [&events_to](std::string_view event, boost::json::value data) {
                                if (auto* server = events_to.load()) server->emit(event, std::move(data));
                              },
                          .stop_daemon = [&proxy] { proxy.stop(); },
                          .base_dir = std::filesystem::path(impl_->flags.config_file).parent_path().string(),
                          .drain_daemon =
                              [&proxy](std::optional<std::chrono::milliseconds> grace) {
                                proxy.drain(grace.value_or(proxy.options().drain_timeout), "drain requested");
                              },
                          .add_statistics =
                              [&predecessor](boost::json::object& out) {
                                if (!predecessor) return;
                                auto open = predecessor->draining_connections();
                                if (!open) return;
                                boost::json::object previous;
                                previous["pid"] = predecessor->pid();
                                previous["drainingConnections"] = *open;
                                out["previousGeneration"] = std::move(previous);
                              }});
  commands.attach(&proxy);
  commands.register_commands(registry);

  const std::string takeover_socket = takeover_path(options);
  if (impl_->flags.takeover) predecessor = Predecessor::connect(takeover_socket);
  if (predecessor) {
    proxy.start(predecessor->take_sockets());
    auto open = predecessor->drain();
    spdlog::info("took over from pid {}: it has stopped accepting and drains {} connections",
                 predecessor->pid(), open);
  } else {
    proxy.start();
  }
  // After a takeover this process serves and its predecessor no longer
  // accepts: what cannot be set up from here on is logged, not fatal.
  std::optional<service::MetricsListener> metrics;
  if (options.metrics_listen) {
    if (!predecessor || wait_until_free(*options.metrics_listen, std::chrono::seconds(5))) {
      metrics.emplace(proxy.runtime(), proxy.shutdown(), *options.metrics_listen,
                      [&proxy] { return proxy.prometheus(); });
    } else {
      spdlog::error("metrics: {} is still in use; serving without /metrics",
                    options.metrics_listen->to_string());
    }
  }
  if (!impl_->flags.management_socket.empty()) {
    management.emplace(proxy.runtime().control(), registry);
    events_to.store(&*management);
    try {
      management->listen_unix(impl_->flags.management_socket);
    } catch (const std::system_error& e) {
      if (!predecessor) throw;
      spdlog::error("{}; serving without it", e.what());
    }
  }
  // Without a takeover socket (its folder not writable, say) the proxy
  // serves as before; only another live proxy on it stops the start.
  try {
    start_takeover_server(takeover, takeover_socket, proxy, predecessor, management);
  } catch (const std::system_error& e) {
    if (e.code().value() == EADDRINUSE && !predecessor) throw;
    spdlog::warn("{}: `serve --takeover` cannot replace this process", e.what());
  }
  drop_privileges(options.user);

  asio::signal_set hangup(proxy.runtime().control(), SIGHUP);
  std::function<void()> watch_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: re-reading {}", impl_->flags.config_file);
      try {
        proxy.reload(load_options_file(impl_->flags.config_file));
      } catch (const std::exception& e) {
        spdlog::error("reload failed, nothing changed: {}", e.what());
      }
      watch_hangup();
    });
  };
  watch_hangup();

  // SIGUSR2: start a successor that takes over from this process.
  asio::signal_set upgrade(proxy.runtime().control(), SIGUSR2, SIGCHLD);
  pid_t successor = -1;
  std::function<void()> watch_upgrade = [&] {
    upgrade.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGCHLD) {
        int status = 0;
        if (successor > 0 && ::waitpid(successor, &status, WNOHANG) == successor) {
          spdlog::warn("successor pid {} exited ({}){}", successor,
                       WIFEXITED(status) ? fmt::format("code {}", WEXITSTATUS(status))
                                         : fmt::format("signal {}", WTERMSIG(status)),
                       proxy.shutdown().draining() ? "" : " before it took over; still serving");
          successor = -1;
        }
      } else if (proxy.shutdown().draining()) {
        spdlog::warn("SIGUSR2: this process drains; no successor started");
      } else if (successor > 0) {
        spdlog::warn("SIGUSR2: successor pid {} is still starting", successor);
      } else if (impl_->flags.successor_command.empty()) {
        spdlog::warn("SIGUSR2: no command to start a successor with");
      } else {
        try {
          successor = start_successor(impl_->flags.successor_command);
          spdlog::info("SIGUSR2: started successor pid {} to take over", successor);
        } catch (const std::exception& e) {
          spdlog::error("SIGUSR2: {}", e.what());
        }
      }
      watch_upgrade();
    });
  };
  watch_upgrade();

  // While draining, the open connections every few seconds.
  asio::steady_timer drain_log(proxy.runtime().control());
  std::function<void()> log_drain = [&] {
    drain_log.expires_after(std::chrono::seconds(5));
    drain_log.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      spdlog::info("draining: {} connections open", proxy.open_connections());
      log_drain();
    });
  };
  proxy.shutdown().on_begin([&] {
    boost::system::error_code ignored;
    hangup.cancel(ignored);
    // A draining process has nothing to hand over (after a handover the
    // path already belongs to the successor).
    if (takeover) takeover->stop_listening();
    log_drain();
  });

  if (predecessor) {
    core::notify_service_manager(fmt::format("MAINPID={}\nREADY=1", ::getpid()));
  } else {
    core::notify_service_manager("READY=1");
  }
  proxy.wait();
  takeover.reset();  // a successor sees this process go
  events_to.store(nullptr);
  if (management) management->close();
  // What a drain timeout cut goes before the listeners above it refers to.
  proxy.runtime().shutdown();
  spdlog::info("stopped");
  return 0;
}

}  // namespace basalt::proxy
