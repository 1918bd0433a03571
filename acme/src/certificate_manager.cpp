#include "basalt/acme/certificate_manager.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <random>
#include <set>

#include "basalt/acme/problem.hpp"

namespace basalt::acme {
namespace asio = boost::asio;

namespace {

std::string when(Clock::time_point t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", fmt::gmtime(Clock::to_time_t(t)));
}

bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    auto label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

ClientOptions client_options(const ManagedCertificate& m) {
  ClientOptions o = m.client;
  if (o.account_key.empty()) o.account_key = default_account_key_path(m.cert_dir, o.directory);
  return o;
}

asio::io_context& io_of(const asio::any_io_executor& ex) {
  return static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
}

}  // namespace

std::filesystem::path default_account_key_path(const std::filesystem::path& cert_dir,
                                               const std::string& directory_url) {
  std::string id;
  if (auto url = boost::urls::parse_absolute_uri(directory_url)) {
    id = std::string(url->host());
    if (url->has_port()) id += "_" + std::string(url->port());
    id += std::string(url->path());
  } else {
    id = directory_url;
  }
  for (char& c : id) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '-' || c == '_';
    if (!keep) c = '_';
  }
  while (!id.empty() && id.back() == '_') id.pop_back();
  if (id.empty()) id = "default";
  if (id.front() == '.') id.front() = '_';  // never "." or ".."
  return cert_dir / "accounts" / id / "account.key";
}

std::vector<std::string> normalize_domains(const std::vector<std::string>& domains) {
  if (domains.empty()) throw std::invalid_argument("no domain names given");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& d : domains) {
    std::string n = d;
    for (char& c : n) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (!n.empty() && n.back() == '.') n.pop_back();
    std::string_view host = n;
    if (host.starts_with("*.")) host.remove_prefix(2);
    if (!valid_host_name(host) || host.find('.') == std::string_view::npos) {
      throw std::invalid_argument(fmt::format(
          "\"{}\" is not a domain name a CA can certify (host names of letters, digits and '-', at least two "
          "labels, optionally \"*.\" in front)",
          d));
    }
    if (!seen.insert(n).second) throw std::invalid_argument(fmt::format("\"{}\" is given twice", d));
    out.push_back(std::move(n));
  }
  return out;
}

namespace {

// Orders a new certificate and saves it, or shares the order for the same
// certificate already running through the gate.
asio::awaitable<StoredCertificate> order_and_save(const ManagedCertificate& managed, ChallengeSolver& solver,
                                                  ProgressFn progress) {
  OrderGate::Order order = [&]() -> asio::awaitable<StoredCertificate> {
    Client client(io_of(co_await asio::this_coro::executor), client_options(managed));
    auto issued = co_await client.obtain(managed.domains, solver, progress);
    co_return CertificateStore(managed.cert_dir).save(issued);
  };
  if (!managed.gate) co_return co_await order();
  auto key = OrderGate::key(managed.domains, managed.client.key_type);
  if (managed.gate->in_flight() && progress) {
    progress({"order", "waiting for the order for these names already in flight"});
  }
  co_return co_await managed.gate->run(key, order);
}

// A stored certificate may be served again for this request: same key type.
bool reusable(const StoredCertificate& held, const ManagedCertificate& managed) {
  return held.key_type == managed.client.key_type;
}

}  // namespace

asio::awaitable<Obtained> obtain_or_load(const ManagedCertificate& managed, ChallengeSolver& solver,
                                         ProgressFn progress) {
  CertificateStore store(managed.cert_dir);
  std::string error;
  auto held = store.load(managed.domains, &error);
  if (held && reusable(*held, managed) &&
      Clock::now() < renewal_time(held->not_before, held->not_after, managed.renewal, 0)) {
    if (progress) {
      progress({"stored", fmt::format("a stored certificate for {} is valid until {}; not ordering a new one",
                                      fmt::join(managed.domains, ", "), when(held->not_after))});
    }
    Obtained stored;
    stored.certificate = std::move(*held);
    co_return stored;
  }
  if (!held && !error.empty()) spdlog::warn("ACME: ignoring the stored certificate: {}", error);
  if (held && !reusable(*held, managed)) {
    spdlog::info("ACME: the stored certificate for {} has a {} key; ordering a {} one",
                 fmt::join(managed.domains, ", "), held->key_type ? to_string(*held->key_type) : "other",
                 to_string(managed.client.key_type));
  }
  auto saved = co_await order_and_save(managed, solver, progress);
  if (progress)
    progress({"stored", fmt::format("saved in {}", saved.certificate_path.parent_path().string())});
  Obtained obtained;
  obtained.certificate = std::move(saved);
  obtained.issued = true;
  co_return obtained;
}

struct CertificateManager::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, ManagedCertificate m, ChallengeSolver& s, InstallFn i)
      : io(io_context), managed(std::move(m)), solver(s), install(std::move(i)), timer(io_context) {}

  // Sleeps until `at` (system clock), in steps so that a clock change is noticed.
  asio::awaitable<void> sleep_until(Clock::time_point at) {
    while (!stopped && Clock::now() < at) {
      auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(at - Clock::now());
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(left, std::chrono::hours(1)));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    CertificateStore store(managed.cert_dir);
    unsigned failures = 0;
    std::optional<Clock::time_point> renew_at;  // of the certificate held, with its jitter
    Clock::time_point held_not_after{};
    bool just_issued = false;
    while (!stopped) {
      std::string error;
      auto held = store.load(managed.domains, &error);
      if (held && held->not_after != held_not_after) {
        held_not_after = held->not_after;
        renew_at = renewal_time(held->not_before, held->not_after, managed.renewal, rng());
        if (just_issued && *renew_at <= Clock::now()) {
          // renew_before longer than the CA's lifetime: ordering again at
          // once would loop into the CA's rate limits.
          renew_at = held->not_before + (held->not_after - held->not_before) / 2;
          spdlog::warn(
              "ACME: renew_before is longer than the lifetime the CA gives ({} to {}); renewing at "
              "half of it instead",
              when(held->not_before), when(held->not_after));
        }
        just_issued = false;
        spdlog::info("ACME: certificate for {} valid until {}; renewal at {}",
                     fmt::join(managed.domains, ", "), when(held->not_after), when(*renew_at));
      }
      if (held && reusable(*held, managed) && Clock::now() < *renew_at) {
        co_await sleep_until(*renew_at);
        continue;
      }
      std::optional<std::chrono::seconds> delay;
      try {
        auto saved = co_await order_and_save(
            managed, solver, [](const Progress& p) { spdlog::info("ACME {}: {}", p.step, p.message); });
        spdlog::info("ACME: new certificate for {} saved in {}", fmt::join(managed.domains, ", "),
                     saved.certificate_path.parent_path().string());
        if (!stopped) install(saved);
        failures = 0;
        just_issued = true;
      } catch (const std::exception& e) {
        if (stopped) break;
        ++failures;
        delay = retry_delay(failures);
        if (const auto* ae = dynamic_cast<const Error*>(&e);
            ae && ae->retry_after && *ae->retry_after > *delay) {
          delay = *ae->retry_after;
        }
        spdlog::error("ACME: obtaining a certificate for {} failed: {}; {}; next attempt in {} s",
                      fmt::join(managed.domains, ", "), e.what(),
                      held ? "the current certificate stays in use" : "no certificate is held",
                      delay->count());
      }
      if (delay) co_await sleep_until(Clock::now() + *delay);
    }
  }

  asio::io_context& io;
  ManagedCertificate managed;
  ChallengeSolver& solver;
  InstallFn install;
  asio::steady_timer timer;
  asio::cancellation_signal cancel;
  std::atomic<bool> stopped{false};
  std::mt19937_64 rng{std::random_device{}()};
};

CertificateManager::CertificateManager(asio::io_context& io, ManagedCertificate managed,
                                       ChallengeSolver& solver, InstallFn install)
    : impl_(std::make_shared<Impl>(io, std::move(managed), solver, std::move(install))) {
  impl_->managed.domains = normalize_domains(impl_->managed.domains);
}

CertificateManager::~CertificateManager() {
  stop();
}

std::optional<StoredCertificate> CertificateManager::start() {
  std::string error;
  auto held = CertificateStore(impl_->managed.cert_dir).load(impl_->managed.domains, &error);
  if (held && Clock::now() < held->not_after) {
    impl_->install(*held);
  } else {
    if (!error.empty()) spdlog::warn("ACME: ignoring the stored certificate: {}", error);
    held.reset();
  }
  asio::co_spawn(impl_->io, impl_->run(),
                 asio::bind_cancellation_slot(impl_->cancel.slot(), [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("ACME: certificate renewal stopped: {}", ex.what());
                   }
                 }));
  return held;
}

void CertificateManager::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_] {
    impl->timer.cancel();
    impl->cancel.emit(asio::cancellation_type::terminal);
  });
}

}  // namespace basalt::acme
