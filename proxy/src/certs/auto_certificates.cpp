#include "certs/auto_certificates.hpp"

#include <spdlog/spdlog.h>

#include <fmt/chrono.h>
#include <fmt/ranges.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/acme/certificate_store.hpp"
#include "basalt/acme/client.hpp"
#include "basalt/acme/problem.hpp"
#include "basalt/acme/renewal.hpp"
#include "basalt/acme/store_lock.hpp"
#include "basalt/core/file.hpp"
#include "certs/challenge_board.hpp"
#include "certs/dns01_remote_solver.hpp"
#include "certs/proxy_challenge_solver.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using SysClock = std::chrono::system_clock;

namespace {

// How often a proxy waiting for another one's order looks at the store.
constexpr std::chrono::seconds kLockPoll{2};
// How long the driver has to answer a certificateRequest before the CA is asked.
constexpr std::chrono::minutes kDriverTimeout{5};
// How often the question is repeated meanwhile.
constexpr std::chrono::seconds kDriverRepeat{10};
// How long a management command waits for another proxy's order.
constexpr std::chrono::minutes kCommandLockWait{10};

std::string iso(SysClock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
}

// The identity of a certificate: its names as a set.
std::string key_of(std::vector<std::string> domains) {
  std::sort(domains.begin(), domains.end());
  return fmt::format("{}", fmt::join(domains, ","));
}

// True when a certificate naming `names` serves `host` ("*.x" names cover
// one label; a "*.x" host needs that wildcard itself).
bool covers(const std::vector<std::string>& names, const std::string& host) {
  for (const auto& n : names) {
    if (n == host) return true;
    if (n.starts_with("*.") && !host.starts_with("*.")) {
      auto dot = host.find('.');
      if (dot != std::string::npos && host.substr(dot) == n.substr(1)) return true;
    }
  }
  return false;
}

asio::steady_timer::time_point steady_at(SysClock::time_point t) {
  auto left = t - SysClock::now();
  if (left < SysClock::duration::zero()) left = SysClock::duration::zero();
  return asio::steady_timer::clock_type::now() +
         std::chrono::duration_cast<asio::steady_timer::clock_type::duration>(left);
}

}  // namespace

// One certificate: the names, what is installed, where it stands.
struct Entry final : AutoCertificate {
  std::string key;
  std::vector<std::string> domains;

  mutable std::mutex mutex;  // everything below that a management call or bind() reads
  std::vector<std::pair<std::uint64_t, core::TlsServerContext>> contexts;
  std::vector<std::pair<std::uint64_t, std::string>> routes;  // (generation, route name)
  std::shared_ptr<const core::TlsCertifiedKey> current;
  std::string source;  // "acme" or "custom"
  std::string error;   // the last attempt's failure; cleared by a success
  std::atomic<bool> has_certificate{false};

  // The certificate thread's own state.
  SysClock::time_point renew_at{};
  SysClock::time_point backoff_until{};
  unsigned failures = 0;
  bool stopped = false;
  bool looping = false;
  // certProvision: driver: the driver was asked in this round and said "ACME"
  // (or did not answer); not asked again until a certificate is installed.
  bool driver_declined = false;
  bool busy = false;
  asio::steady_timer* sleep = nullptr;        // the loop's wait, cancelled to wake it
  asio::steady_timer* driver_wait = nullptr;  // waiting for provideCertificate
  std::vector<asio::steady_timer*> idle_waiters;
  struct Provided {
    std::shared_ptr<const core::TlsCertifiedKey> certificate;  // null: order from the CA
  };
  std::optional<Provided> provided;

  bool ready() const noexcept override { return has_certificate.load(std::memory_order_acquire); }
  std::string why_not_ready() const override {
    std::lock_guard lock(mutex);
    return error.empty() ? std::string("pending (its first certificate is being obtained)")
                         : "error: " + error;
  }
  std::string route_name() const {
    std::lock_guard lock(mutex);
    return routes.empty() ? std::string() : routes.back().second;
  }
};

struct AutoCertificates::Impl : std::enable_shared_from_this<AutoCertificates::Impl> {
  explicit Impl(Options o)
      : options(std::move(o)),
        store(options.store),
        board(options.store),
        random(std::random_device{}()),
        io(std::make_unique<asio::io_context>()) {
    std::string error;
    auto pem = core::generate_self_signed({.dns_names = {"pending.invalid"}}, &error);
    if (!pem) throw std::runtime_error("cannot make the placeholder certificate: " + error);
    placeholder = {pem->certificate, pem->private_key};
  }

  void stop() {
    std::thread t;
    {
      std::lock_guard lock(mutex);
      stopped = true;
      if (!thread.joinable()) return;
      t = std::move(thread);
    }
    io->stop();
    t.join();
  }

  // Stops, then destroys what is queued on the thread's io_context (the
  // loops' frames, posted work), which hold references to this object.
  void shut_down() {
    stop();
    work.reset();
    client.reset();
    io.reset();
  }

  Options options;
  acme::CertificateStore store;
  ChallengeBoard board;
  core::TlsCertificateSource placeholder;
  std::mutex random_mutex;  // install() runs on the control thread too (bind)
  std::mt19937_64 random;

  mutable std::mutex mutex;  // entries, sink, started
  std::map<std::string, std::shared_ptr<Entry>> entries;
  EventSink sink;
  bool started = false;
  bool stopped = false;
  std::thread thread;

  std::unique_ptr<acme::Client> client;  // certificate thread only
  std::unique_ptr<ProxyChallengeSolver> solver;
  std::unique_ptr<asio::io_context> io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  // ---- events ----
  void emit(std::string_view event, json::object data) {
    EventSink s;
    {
      std::lock_guard lock(mutex);
      s = sink;
    }
    if (s) s(event, std::move(data));
  }

  // ---- installing ----
  void install(Entry& e, std::shared_ptr<const core::TlsCertifiedKey> cert, std::string source) {
    std::lock_guard lock(e.mutex);
    for (auto& [generation, context] : e.contexts) context.set_certificates({cert});
    e.current = cert;
    e.source = std::move(source);
    acme::RenewalPolicy policy;
    policy.renew_before = std::chrono::hours(24) * options.acme.renew_threshold_days;
    std::uint64_t jitter = 0;
    {
      std::lock_guard random_lock(random_mutex);
      jitter = random();
    }
    e.renew_at = acme::renewal_time(cert->not_before(), cert->not_after(), policy, jitter);
    if (e.renew_at <= SysClock::now() && cert->not_after() > SysClock::now()) {
      // renewThresholdDays longer than the CA's lifetime: renewing at once
      // would order again and again into the CA's rate limits.
      e.renew_at = cert->not_before() + (cert->not_after() - cert->not_before()) / 2;
      if (e.renew_at <= SysClock::now()) e.renew_at = SysClock::now() + std::chrono::hours(1);
      spdlog::warn(
          "ACME: {}: renewThresholdDays ({}) is longer than the certificate's lifetime; renewing at {}",
          e.key, options.acme.renew_threshold_days, iso(e.renew_at));
    }
    e.has_certificate.store(true, std::memory_order_release);
    e.driver_declined = false;
  }

  // Installs the store's certificate when it is newer than the one held.
  // True when one was installed.
  bool adopt_stored(Entry& e) {
    std::string why;
    auto stored = store.load(e.domains, &why);
    if (!stored) {
      if (!why.empty()) spdlog::warn("ACME: the stored certificate for {} is unusable: {}", e.key, why);
      return false;
    }
    if (stored->not_after <= SysClock::now()) return false;
    {
      std::lock_guard lock(e.mutex);
      if (e.current && e.current->not_after() >= stored->not_after) return false;
    }
    std::string error;
    auto cert = core::TlsCertifiedKey::load({stored->certificate_pem, stored->private_key_pem}, &error);
    if (!cert) {
      spdlog::warn("ACME: the stored certificate for {} does not load: {}", e.key, error);
      return false;
    }
    install(e, cert, "acme");
    spdlog::info("ACME: serving the stored certificate for {} (valid until {})", e.key,
                 iso(cert->not_after()));
    return true;
  }

  fs::path lock_path(const Entry& e) const {
    return options.store / "locks" / (acme::CertificateStore::entry_name(e.domains.front()) + ".lock");
  }
  fs::path failure_path(const Entry& e) const {
    return options.store / "failures" / (acme::CertificateStore::entry_name(e.domains.front()) + ".json");
  }

  // Another proxy's failed order for these names, and when to try again.
  std::optional<std::pair<SysClock::time_point, std::string>> read_failure(const Entry& e) const {
    std::string ignored;
    auto text = core::read_regular_file(failure_path(e), 64 * 1024, &ignored);
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(*text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* next = v.get_object().if_contains("nextAttempt");
    const auto* error = v.get_object().if_contains("error");
    if (!next || !next->is_int64() || !error || !error->is_string()) return std::nullopt;
    return std::make_pair(SysClock::time_point(std::chrono::seconds(next->get_int64())),
                          std::string(error->get_string()));
  }
  void write_failure(const Entry& e, SysClock::time_point next, const std::string& error) const {
    json::object o;
    o["domains"] = json::value_from(e.domains);
    o["error"] = error;
    o["nextAttempt"] = std::chrono::duration_cast<std::chrono::seconds>(next.time_since_epoch()).count();
    std::error_code ec;
    fs::create_directories(failure_path(e).parent_path(), ec);
    std::string why;
    if (!core::write_file_atomic(failure_path(e), json::serialize(o),
                                 fs::perms::owner_read | fs::perms::owner_write, &why)) {
      spdlog::warn("ACME: {}", why);
    }
  }

  void set_error(Entry& e, std::string error) {
    std::lock_guard lock(e.mutex);
    e.error = std::move(error);
  }

  json::object issued_event(const Entry& e) const {
    json::object o;
    o["routeName"] = e.route_name();
    o["domain"] = e.domains.front();
    o["domains"] = json::value_from(e.domains);
    std::lock_guard lock(e.mutex);
    o["source"] = e.source;
    o["expiryDate"] = iso(e.current->not_after());
    o["issueDate"] = iso(e.current->not_before());
    return o;
  }
  json::object failed_event(const Entry& e, const std::string& error) const {
    json::object o;
    o["routeName"] = e.route_name();
    o["domain"] = e.domains.front();
    o["domains"] = json::value_from(e.domains);
    o["error"] = error;
    return o;
  }
  json::object request_event(const Entry& e) const {
    json::object o;
    o["domain"] = e.domains.front();
    o["domains"] = json::value_from(e.domains);
    o["routeName"] = e.route_name();
    return o;
  }

  // ---- the work, on the certificate thread ----

  // certProvision: driver: asks the driver; true when it provided a
  // certificate (installed), false when the CA is to be asked.
  asio::awaitable<bool> ask_driver(std::shared_ptr<Entry> e) {
    e->provided.reset();
    spdlog::info("ACME: asking the driver for a certificate for {} (certificateRequest)", e->key);
    // Asked again every kDriverRepeat: a driver that connects late (or
    // reconnects) still hears the question.
    asio::steady_timer wait(*io);
    e->driver_wait = &wait;
    const auto give_up = std::chrono::steady_clock::now() + kDriverTimeout;
    while (!e->provided && !e->stopped && std::chrono::steady_clock::now() < give_up) {
      emit("certificateRequest", request_event(*e));
      const auto left = give_up - std::chrono::steady_clock::now();
      wait.expires_after(std::min<std::chrono::steady_clock::duration>(kDriverRepeat, left));
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    e->driver_wait = nullptr;
    if (!e->provided) {
      spdlog::warn(
          "ACME: the driver did not answer the certificateRequest for {} within {} min; asking the CA",
          e->key, kDriverTimeout.count());
      co_return false;
    }
    auto provided = std::move(*e->provided);
    e->provided.reset();
    if (!provided.certificate) co_return false;
    install(*e, provided.certificate, "custom");
    co_return true;
  }

  // One look at the certificate: adopt the store's, order when due. Returns
  // when to look again.
  asio::awaitable<SysClock::time_point> step(std::shared_ptr<Entry> e, bool force, bool command) {
    const auto interval = std::chrono::hours(options.acme.renew_check_interval_hours);
    adopt_stored(*e);
    auto now = SysClock::now();
    const bool held = e->ready();
    const bool due = !held || now >= e->renew_at;
    if (!force && !due) {
      set_error(*e, {});
      co_return std::min(e->renew_at, now + interval);
    }
    if (!force && held && !options.acme.auto_renew && !command) co_return now + interval;
    if (!force && !command && now < e->backoff_until) co_return e->backoff_until;

    if (options.acme.cert_provision == CertProvision::kDriver && !e->driver_declined) {
      const bool custom = co_await ask_driver(e);
      e->driver_declined = !custom;
      if (custom) {
        set_error(*e, {});
        emit("certificateIssued", issued_event(*e));
        co_return std::min(e->renew_at, SysClock::now() + interval);
      }
    }

    // Orders run under the store's lock: a proxy sharing the store that
    // finds it taken waits and then picks the result up from the store.
    auto lock = acme::StoreLock::try_acquire(lock_path(*e));
    if (!lock && !command) co_return SysClock::now() + kLockPoll;
    const auto give_up = std::chrono::steady_clock::now() + kCommandLockWait;
    while (!lock) {
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("another proxy sharing the certificate store holds its lock for " + e->key);
      asio::steady_timer poll(*io);
      poll.expires_after(kLockPoll);
      co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
      lock = acme::StoreLock::try_acquire(lock_path(*e));
    }
    // The holder before us may have just saved one.
    const auto before = e->ready() ? std::optional(e->current->not_after()) : std::nullopt;
    if (adopt_stored(*e)) {
      now = SysClock::now();
      const bool renewed_meanwhile = before && e->current->not_after() > *before;
      if (!force ? now < e->renew_at : renewed_meanwhile) {
        set_error(*e, {});
        co_return std::min(e->renew_at, now + interval);
      }
    }
    if (!force && !command) {
      if (auto failure = read_failure(*e); failure && failure->first > SysClock::now()) {
        set_error(*e, failure->second);
        e->backoff_until = failure->first;
        co_return failure->first;
      }
    }

    spdlog::info("ACME: ordering a certificate for {} from {}", e->key, options.acme.directory_url());
    try {
      auto progress = [key = e->key](const acme::Progress& p) {
        spdlog::info("ACME: {}: {}: {}", key, p.step, p.message);
      };
      auto obtained = co_await client->obtain(e->domains, *solver, progress);
      auto saved = store.save(obtained);
      std::string error;
      auto cert = core::TlsCertifiedKey::load({saved.certificate_pem, saved.private_key_pem}, &error);
      if (!cert) throw std::runtime_error("the CA's certificate does not load: " + error);
      install(*e, cert, "acme");
      std::error_code ec;
      fs::remove(failure_path(*e), ec);
      e->failures = 0;
      e->backoff_until = {};
      set_error(*e, {});
      spdlog::info("ACME: installed a new certificate for {} (valid until {})", e->key,
                   iso(cert->not_after()));
      emit("certificateIssued", issued_event(*e));
      co_return std::min(e->renew_at, SysClock::now() + interval);
    } catch (const std::exception& ex) {
      ++e->failures;
      std::chrono::seconds delay = acme::retry_delay(e->failures);
      if (const auto* ae = dynamic_cast<const acme::Error*>(&ex); ae && ae->retry_after)
        delay = std::max(delay, *ae->retry_after);
      e->backoff_until = SysClock::now() + delay;
      write_failure(*e, e->backoff_until, ex.what());
      set_error(*e, ex.what());
      spdlog::error("ACME: no certificate for {}: {}; next attempt at {}{}", e->key, ex.what(),
                    iso(e->backoff_until), e->ready() ? " (the current certificate keeps serving)" : "");
      emit("certificateFailed", failed_event(*e, ex.what()));
      co_return e->backoff_until;
    }
  }

  // step() for one entry at a time: a command waits for the loop's step
  // (and the other way round) instead of ordering twice.
  asio::awaitable<SysClock::time_point> serialized_step(std::shared_ptr<Entry> e, bool force, bool command) {
    while (e->busy) {
      asio::steady_timer idle(*io);
      idle.expires_at(asio::steady_timer::time_point::max());
      e->idle_waiters.push_back(&idle);
      co_await idle.async_wait(asio::as_tuple(asio::use_awaitable));
      std::erase(e->idle_waiters, &idle);
    }
    e->busy = true;
    std::exception_ptr failure;
    SysClock::time_point next = SysClock::now() + std::chrono::minutes(1);
    try {
      next = co_await step(e, force, command);
    } catch (...) {
      failure = std::current_exception();
    }
    e->busy = false;
    for (auto* w : e->idle_waiters) w->cancel();
    if (failure) std::rethrow_exception(failure);
    co_return next;
  }

  asio::awaitable<void> loop(std::shared_ptr<Entry> e) {
    asio::steady_timer sleep(*io);
    while (!e->stopped) {
      SysClock::time_point next;
      try {
        next = co_await serialized_step(e, false, false);
      } catch (const std::exception& ex) {
        spdlog::error("ACME: {}: {}", e->key, ex.what());
        next = SysClock::now() + std::chrono::minutes(1);
      }
      if (e->stopped) break;
      sleep.expires_at(steady_at(next));
      e->sleep = &sleep;
      co_await sleep.async_wait(asio::as_tuple(asio::use_awaitable));
      e->sleep = nullptr;
    }
    e->looping = false;
  }

  void start_loop(const std::shared_ptr<Entry>& e) {
    asio::post(*io, [self = shared_from_this(), e] {
      if (e->looping || e->stopped) return;
      e->looping = true;
      asio::co_spawn(*self->io, self->loop(e), asio::detached);
    });
  }

  void wake(const std::shared_ptr<Entry>& e) {
    asio::post(*io, [e] {
      if (e->sleep) e->sleep->cancel();
    });
  }

  std::shared_ptr<Entry> find_route(std::string_view route_name) const {
    std::lock_guard lock(mutex);
    for (const auto& [key, e] : entries) {
      std::lock_guard entry_lock(e->mutex);
      for (const auto& [generation, name] : e->routes) {
        if (name == route_name) return e;
      }
    }
    return nullptr;
  }

  json::object status_of(const Entry& e) const {
    std::lock_guard lock(e.mutex);
    json::object o;
    o["domain"] = e.domains.front();
    o["domains"] = json::value_from(e.domains);
    const auto now = SysClock::now();
    if (!e.error.empty()) {
      o["status"] = "error";
    } else if (!e.current) {
      o["status"] = "pending";
    } else if (e.current->not_after() <= now) {
      o["status"] = "expired";
    } else {
      o["status"] = "valid";
    }
    o["source"] = e.current ? e.source : std::string("acme");
    if (e.current) {
      o["expiryDate"] = iso(e.current->not_after());
      o["issueDate"] = iso(e.current->not_before());
    } else {
      o["expiryDate"] = nullptr;
      o["issueDate"] = nullptr;
    }
    if (!e.error.empty()) o["error"] = e.error;
    return o;
  }

  asio::awaitable<json::object> provision_on_io(std::shared_ptr<Entry> e, bool force) {
    if (!force && e->ready() && SysClock::now() < e->renew_at) {
      // A good certificate is held (or an order for it is under way: wait for it).
      co_await serialized_step(e, false, true);
    } else {
      co_await serialized_step(e, force, true);
    }
    if (e->sleep) e->sleep->cancel();  // the loop re-plans from the new state
    std::string error;
    {
      std::lock_guard lock(e->mutex);
      error = e->error;
    }
    if (!error.empty()) throw std::runtime_error(error);
    co_return status_of(*e);
  }
};

AutoCertificates::AutoCertificates(Options options) : impl_(std::make_shared<Impl>(std::move(options))) {}

AutoCertificates::~AutoCertificates() {
  impl_->shut_down();
}

std::shared_ptr<const AutoCertificate> AutoCertificates::bind(const std::vector<std::string>& domains,
                                                              const std::string& route_name,
                                                              std::uint64_t generation,
                                                              core::TlsServerContext context) {
  const std::string key = key_of(domains);
  std::shared_ptr<Entry> e;
  bool created = false;
  {
    std::lock_guard lock(impl_->mutex);
    auto& slot = impl_->entries[key];
    if (!slot) {
      slot = std::make_shared<Entry>();
      slot->key = key;
      slot->domains = domains;
      created = true;
    }
    e = slot;
  }
  if (created) impl_->adopt_stored(*e);  // a restart serves the stored certificate at once
  std::lock_guard lock(e->mutex);
  if (e->current) context.set_certificates({e->current});
  e->contexts.emplace_back(generation, std::move(context));
  e->routes.emplace_back(generation, route_name);
  return e;
}

void AutoCertificates::commit(std::uint64_t generation) {
  std::vector<std::shared_ptr<Entry>> unused, in_use;
  bool started = false;
  {
    std::lock_guard lock(impl_->mutex);
    started = impl_->started;
    for (auto it = impl_->entries.begin(); it != impl_->entries.end();) {
      auto& e = it->second;
      bool used = false;
      {
        std::lock_guard entry_lock(e->mutex);
        std::erase_if(e->contexts, [&](const auto& c) { return c.first < generation; });
        std::erase_if(e->routes, [&](const auto& r) { return r.first < generation; });
        used = !e->contexts.empty();
      }
      if (used) {
        in_use.push_back(e);
        ++it;
      } else {
        unused.push_back(e);
        it = impl_->entries.erase(it);
      }
    }
  }
  for (auto& e : unused) {
    asio::post(*impl_->io, [e] {
      e->stopped = true;
      if (e->sleep) e->sleep->cancel();
    });
  }
  if (started) {
    for (auto& e : in_use) impl_->start_loop(e);
  }
}

const core::TlsCertificateSource& AutoCertificates::placeholder() const {
  return impl_->placeholder;
}

void AutoCertificates::start() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->started || impl_->stopped) return;
    impl_->started = true;
    const auto& a = impl_->options.acme;
    acme::ClientOptions client;
    client.directory = a.directory_url();
    client.directory_ca = a.directory_ca;
    if (!a.email.empty()) client.contact = {"mailto:" + a.email};
    client.account_key = acme::default_account_key_path(impl_->options.store, client.directory);
    impl_->client = std::make_unique<acme::Client>(*impl_->io, client);
    std::unique_ptr<acme::ChallengeSolver> dns01;
    if (!a.dns01_management_socket.empty())
      dns01 = std::make_unique<RemoteDns01Solver>(a.dns01_management_socket);
    impl_->solver = std::make_unique<ProxyChallengeSolver>(impl_->board, a.challenge_types, std::move(dns01));
    impl_->work.emplace(impl_->io->get_executor());
    impl_->thread = std::thread([io = impl_->io.get()] { io->run(); });
    for (const auto& [key, e] : impl_->entries) all.push_back(e);
  }
  for (auto& e : all) impl_->start_loop(e);
}

void AutoCertificates::stop() {
  impl_->stop();
}

void AutoCertificates::set_event_sink(EventSink sink) {
  std::lock_guard lock(impl_->mutex);
  impl_->sink = std::move(sink);
}

std::optional<json::object> AutoCertificates::status(std::string_view route_name) const {
  auto e = impl_->find_route(route_name);
  if (!e) return std::nullopt;
  auto o = impl_->status_of(*e);
  o["routeName"] = std::string(route_name);
  return o;
}

asio::awaitable<json::object> AutoCertificates::provision(std::string route_name, bool force) {
  auto e = impl_->find_route(route_name);
  if (!e) throw std::invalid_argument("route \"" + route_name + "\" has no certificate: auto");
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->started || impl_->stopped) throw std::runtime_error("the proxy is not running");
  }
  auto self = impl_;
  auto status = co_await asio::co_spawn(*self->io, self->provision_on_io(e, force), asio::use_awaitable);
  status["routeName"] = route_name;
  co_return status;
}

void AutoCertificates::provide(const std::string& domain, const std::string& cert, const std::string& key,
                               bool use_acme) {
  std::vector<std::shared_ptr<Entry>> matching;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [k, e] : impl_->entries) {
      if (std::find(e->domains.begin(), e->domains.end(), domain) != e->domains.end()) matching.push_back(e);
    }
  }
  if (matching.empty())
    throw std::invalid_argument("domain: \"" + domain + "\" is on no route with certificate: auto");
  std::shared_ptr<const core::TlsCertifiedKey> loaded;
  if (!use_acme) {
    if (cert.empty()) throw std::invalid_argument("cert: is required (PEM text), or acme: true");
    if (key.empty()) throw std::invalid_argument("key: is required (PEM text), or acme: true");
    // PEM text only: a path would make the proxy read its own files for the caller.
    if (cert.find("-----BEGIN") == std::string::npos) throw std::invalid_argument("cert: is not PEM text");
    if (key.find("-----BEGIN") == std::string::npos) throw std::invalid_argument("key: is not PEM text");
    std::string error;
    loaded = core::TlsCertifiedKey::load({cert, key}, &error);
    if (!loaded) {
      const bool key_fault = error.starts_with("private key");
      throw std::invalid_argument((key_fault ? "key: " : "cert: ") + error);
    }
    if (loaded->not_after() <= SysClock::now())
      throw std::invalid_argument("cert: expired on " + iso(loaded->not_after()));
    // It must serve every name of the routes it is for.
    for (const auto& e : matching) {
      for (const auto& name : e->domains) {
        if (!covers(loaded->dns_names(), name))
          throw std::invalid_argument("cert: does not cover \"" + name + "\" (it names " +
                                      fmt::format("{}", fmt::join(loaded->dns_names(), ", ")) + ")");
      }
    }
  }
  for (auto& e : matching) {
    asio::post(*impl_->io, [self = impl_, e, loaded] {
      if (e->driver_wait) {
        e->provided = Entry::Provided{loaded};
        e->driver_wait->cancel();
      } else if (loaded) {
        // Unasked: the driver replaces the certificate now.
        self->install(*e, loaded, "custom");
        self->set_error(*e, {});
        self->emit("certificateIssued", self->issued_event(*e));
        if (e->sleep) e->sleep->cancel();  // renewal planned from this certificate
      }
    });
  }
}

ChallengeBoard& AutoCertificates::board() noexcept {
  return impl_->board;
}

const AcmeOptions& AutoCertificates::acme() const noexcept {
  return impl_->options.acme;
}

}  // namespace basalt::proxy
