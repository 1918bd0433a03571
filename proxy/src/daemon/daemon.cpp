#include "basalt/proxy/daemon.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <filesystem>
#include <system_error>

#include "basalt/core/config.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/proxy/commands.hpp"
#include "basalt/proxy/proxy.hpp"
#include "basalt/service/metrics_listener.hpp"

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

  core::management::Registry registry;
  std::optional<core::management::Server> management;
  ProxyCommands commands(
      {.emit =
           [&management](std::string_view event, boost::json::value data) {
             if (management) management->emit(event, std::move(data));
           },
       .stop_daemon = [&proxy] { proxy.stop(); },
       .base_dir = std::filesystem::path(impl_->flags.config_file).parent_path().string()});
  commands.attach(&proxy);
  commands.register_commands(registry);

  // The management socket first: the proxy's events (a certificateRequest
  // at start) must find it in place.
  if (!impl_->flags.management_socket.empty()) {
    management.emplace(proxy.runtime().control(), registry);
    management->listen_unix(impl_->flags.management_socket);
  }
  proxy.start();
  std::optional<service::MetricsListener> metrics;
  if (options.metrics_listen) {
    metrics.emplace(proxy.runtime(), proxy.shutdown(), *options.metrics_listen,
                    [&proxy] { return proxy.prometheus(); });
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
  proxy.shutdown().on_begin([&hangup] {
    boost::system::error_code ignored;
    hangup.cancel(ignored);
  });

  proxy.wait();
  if (management) management->close();
  spdlog::info("stopped");
  return 0;
}

}  // namespace basalt::proxy
