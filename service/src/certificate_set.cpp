#include "basalt/service/certificate_set.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "basalt/acme/csr.hpp"
#include "basalt/core/config.hpp"
#include "basalt/core/file.hpp"

namespace basalt::service {
namespace {

namespace fs = std::filesystem;
using Key = std::shared_ptr<const core::TlsCertifiedKey>;

Key load(const core::TlsCertificateSource& source) {
  std::string error;
  auto key = core::TlsCertifiedKey::load(source, &error);
  if (!key) throw std::invalid_argument(error);
  return key;
}

// The self-signed pair kept in the state directory: loaded when it is there
// and usable, else generated (ECDSA P-256, localhost and the loopback
// addresses plus `addresses`) and written with mode 0600.
std::pair<core::TlsCertificateSource, Key> self_signed(const CertificateSetOptions& o) {
  if (o.state_dir.empty()) {
    throw core::config::Error("tls",
                              "no certificate configured and no state_dir to keep a self-signed one in");
  }
  fs::path dir(o.state_dir);
  auto cert_path = dir / (o.self_signed_name + "-cert.pem"),
       key_path = dir / (o.self_signed_name + "-key.pem");
  std::error_code ec;
  if (fs::exists(cert_path, ec) && fs::exists(key_path, ec)) {
    std::string error;
    core::TlsCertificateSource source{cert_path.string(), key_path.string()};
    if (auto key = core::TlsCertifiedKey::load(source, &error)) return {source, key};
    spdlog::warn("replacing the unusable self-signed certificate in {}: {}", dir.string(), error);
  }
  fs::create_directories(dir, ec);
  if (ec) throw core::config::Error("state_dir", "cannot create \"" + dir.string() + "\": " + ec.message());
  core::SelfSignedOptions options{
      .dns_names = {"localhost"},
      .ip_addresses = {core::IpAddress::v4_loopback(), *core::IpAddress::parse("::1")}};
  for (const auto& a : o.self_signed_addresses) {
    if (!a.is_unspecified() && !a.is_loopback()) options.ip_addresses.push_back(a);
  }
  std::string error;
  auto pem = core::generate_self_signed(options, &error);
  if (!pem) throw std::runtime_error("cannot generate a self-signed certificate: " + error);
  constexpr auto kMode = fs::perms::owner_read | fs::perms::owner_write;
  if (!core::write_file_atomic(key_path, pem->private_key, kMode, &error) ||
      !core::write_file_atomic(cert_path, pem->certificate, kMode, &error)) {
    throw core::config::Error("state_dir", error);
  }
  spdlog::info("generated a self-signed certificate in {} (localhost, 127.0.0.1, ::1)", dir.string());
  core::TlsCertificateSource source{cert_path.string(), key_path.string()};
  return {source, load(source)};
}

}  // namespace

std::string_view to_string(CertificateOrigin origin) noexcept {
  switch (origin) {
    case CertificateOrigin::kStatic:
      return "static";
    case CertificateOrigin::kAcme:
      return "acme";
    case CertificateOrigin::kSelfSigned:
      return "self-signed";
  }
  return "static";
}

struct CertificateSet::Impl {
  explicit Impl(CertificateSetOptions o) : options(std::move(o)) {}

  // Under mutex. The set in selection order: ACME newest first, then the base.
  void publish() {
    if (!context) return;
    std::vector<Key> set;
    for (const auto& [name, key] : acme) set.push_back(key);
    if (base) set.push_back(base);
    if (!set.empty()) context->set_certificates(std::move(set));
  }

  CertificateSetOptions options;
  mutable std::mutex mutex;
  std::optional<core::TlsServerContext> context;
  core::TlsCertificateSource base_source;  // what `base` was loaded from
  Key base;
  CertificateOrigin base_origin = CertificateOrigin::kStatic;
  std::vector<std::pair<std::string, Key>> acme;  // (store entry name, key), newest first
  std::shared_ptr<acme::OrderGate> gate = std::make_shared<acme::OrderGate>();
  std::vector<std::unique_ptr<acme::CertificateManager>> managers;
};

CertificateSet::CertificateSet(CertificateSetOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  if (const auto& tls = impl_->options.tls) {
    try {
      impl_->base_source = tls->source();
      impl_->base = load(impl_->base_source);
    } catch (const std::invalid_argument& e) {
      throw core::config::Error("tls", e.what());
    }
  }
}

CertificateSet::~CertificateSet() {
  stop();
}

core::TlsServerContext CertificateSet::context() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->context) return *impl_->context;
  if (!impl_->base) {
    auto [source, key] = self_signed(impl_->options);
    impl_->base_source = std::move(source);
    impl_->base = std::move(key);
    impl_->base_origin = CertificateOrigin::kSelfSigned;
  }
  std::string error;
  impl_->context = core::TlsServerContext::create(
      {.certificates = {impl_->base_source}, .alpn = impl_->options.alpn}, &error);
  if (!impl_->context) throw core::config::Error("tls", error);
  impl_->publish();
  return *impl_->context;
}

void CertificateSet::set_static(const core::TlsCertificateSource& source) {
  auto key = load(source);
  std::lock_guard lock(impl_->mutex);
  impl_->base_source = source;
  impl_->base = std::move(key);
  impl_->base_origin = CertificateOrigin::kStatic;
  impl_->publish();
}

void CertificateSet::install(const acme::StoredCertificate& certificate) {
  auto key = load({certificate.certificate_pem, certificate.private_key_pem});
  auto name =
      acme::CertificateStore::entry_name(certificate.domains.empty() ? "" : certificate.domains.front());
  std::lock_guard lock(impl_->mutex);
  std::erase_if(impl_->acme, [&](const auto& e) { return e.first == name; });
  impl_->acme.insert(impl_->acme.begin(), {name, std::move(key)});
  impl_->publish();
}

std::vector<CertificateStatus> CertificateSet::status() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<CertificateStatus> out;
  auto add = [&](const Key& key, CertificateOrigin origin) {
    auto type = acme::key_type_of(key->key());
    out.push_back({.names = key->dns_names(),
                   .not_before = key->not_before(),
                   .not_after = key->not_after(),
                   .source = origin,
                   .key_type = type ? std::string(acme::to_string(*type)) : "other",
                   .is_default = out.empty()});
  };
  for (const auto& [name, key] : impl_->acme) add(key, CertificateOrigin::kAcme);
  if (impl_->base) add(impl_->base, impl_->base_origin);
  return out;
}

boost::asio::awaitable<acme::Obtained> CertificateSet::obtain(acme::ManagedCertificate order,
                                                              acme::ChallengeSolver& solver,
                                                              acme::ProgressFn progress) {
  order.gate = impl_->gate;
  auto obtained = co_await acme::obtain_or_load(order, solver, std::move(progress));
  install(obtained.certificate);
  co_return obtained;
}

std::optional<acme::StoredCertificate> CertificateSet::manage(boost::asio::io_context& io,
                                                              acme::ManagedCertificate order,
                                                              acme::ChallengeSolver& solver) {
  order.gate = impl_->gate;
  auto manager = std::make_unique<acme::CertificateManager>(
      io, std::move(order), solver, [this](const acme::StoredCertificate& c) { install(c); });
  auto held = manager->start();
  std::lock_guard lock(impl_->mutex);
  impl_->managers.push_back(std::move(manager));
  return held;
}

void CertificateSet::stop() {
  std::lock_guard lock(impl_->mutex);
  for (auto& m : impl_->managers) m->stop();
}

}  // namespace basalt::service
