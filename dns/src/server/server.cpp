#include "basalt/dns/server/server.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <ctime>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/acme/problem.hpp"
#include "basalt/core/duration.hpp"
#include "basalt/core/file.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/snapshot.hpp"
#include "basalt/core/socket.hpp"
#include "basalt/dns/dnssec/key_store.hpp"
#include "basalt/dns/server/doh.hpp"
#include "basalt/dns/wire/message_writer.hpp"
#include "basalt/dns/zone/zone_error.hpp"
#include "basalt/dns/zone/zone_parser.hpp"
#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"
#include "server/dns01_solver.hpp"
#include "server/doh_certificates.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"
#include "server/worker.hpp"

namespace basalt::dns {
namespace asio = boost::asio;

namespace {

ZoneBuildOptions build_options(const ServerConfig& config) {
  ZoneBuildOptions o;
  o.serial = static_cast<std::uint32_t>(std::time(nullptr));
  if (config.primary_nameserver) o.primary_nameserver = Name::from_text(*config.primary_nameserver);
  return o;
}

std::optional<Name> declared_origin(std::string_view text) {
  static const std::regex kOrigin(R"((^|\n)\$ORIGIN[ \t]+([^ \t\r\n;]+))", std::regex::icase);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(text.begin(), text.end(), m, kOrigin)) return std::nullopt;
  return Name::from_text(m[2].str());
}

// The DoH certificate: the configured one, else the self-signed one kept in
// the state directory (generated on first start).
core::TlsCertificateSource doh_certificate(const ServerConfig& config) {
  if (config.tls) return {config.tls->cert, config.tls->key};
  namespace fs = std::filesystem;
  if (config.state_dir.empty()) {
    throw core::config::Error("tls",
                              "no certificate configured and no state_dir to keep a self-signed one in");
  }
  fs::path dir(config.state_dir);
  auto cert_path = dir / "doh-cert.pem", key_path = dir / "doh-key.pem";
  std::error_code ec;
  if (fs::exists(cert_path, ec) && fs::exists(key_path, ec)) {
    std::string error;
    if (core::TlsCertifiedKey::load({cert_path.string(), key_path.string()}, &error)) {
      return {cert_path.string(), key_path.string()};
    }
    spdlog::warn("replacing the unusable self-signed DoH certificate in {}: {}", dir.string(), error);
  }
  fs::create_directories(dir, ec);
  if (ec) throw core::config::Error("state_dir", "cannot create \"" + dir.string() + "\": " + ec.message());
  core::SelfSignedOptions options{
      .dns_names = {"localhost"},
      .ip_addresses = {core::IpAddress::v4_loopback(), *core::IpAddress::parse("::1")}};
  for (const auto& d : config.doh) {
    if (d.listen && !d.listen->address.is_unspecified() && !d.listen->address.is_loopback()) {
      options.ip_addresses.push_back(d.listen->address);
    }
  }
  std::string error;
  auto pem = core::generate_self_signed(options, &error);
  if (!pem) throw std::runtime_error("cannot generate a self-signed DoH certificate: " + error);
  if (!core::write_file_atomic(key_path, pem->private_key, fs::perms::owner_read | fs::perms::owner_write,
                               &error) ||
      !core::write_file_atomic(cert_path, pem->certificate, fs::perms::owner_read | fs::perms::owner_write,
                               &error)) {
    throw core::config::Error("state_dir", error);
  }
  spdlog::info("generated a self-signed DoH certificate in {} (localhost, 127.0.0.1, ::1)", dir.string());
  return {cert_path.string(), key_path.string()};
}

// The online signer of `config.dnssec`: its keys loaded from the key
// directory, or generated there on first start.
std::shared_ptr<const ZoneSigner> make_signer(const ServerConfig& config, const ZoneSet& zones) {
  const DnssecConfig& dc = *config.dnssec;
  auto apex = Name::from_text(dc.zone);
  if (!apex || apex->is_root())
    throw core::config::Error("dnssec.zone", "\"" + dc.zone + "\" is not a zone name");
  auto zone = zones.get(*apex);
  if (!zone) {
    std::string served;
    for (const auto& z : zones.zones()) served += (served.empty() ? "" : ", ") + z->apex().to_string();
    throw core::config::Error("dnssec.zone", fmt::format("\"{}\" is not one of the served zones ({})",
                                                         dc.zone, served.empty() ? "none" : served));
  }
  std::optional<Algorithm> algorithm;
  if (dc.algorithm) {
    algorithm = parse_algorithm(*dc.algorithm);
    if (!algorithm) {
      throw core::config::Error("dnssec.algorithm",
                                fmt::format("\"{}\" is not one of: {}", *dc.algorithm, kAlgorithmHelp));
    }
  }
  if (dc.keys != "combined" && dc.keys != "ksk-zsk") {
    throw core::config::Error("dnssec.keys", "\"" + dc.keys + "\" is not one of: combined, ksk-zsk");
  }
  std::string dir = dc.key_dir;
  if (dir.empty()) {
    if (config.state_dir.empty()) throw core::config::Error("dnssec.key_dir", "no key_dir and no state_dir");
    dir = config.state_dir + "/keys";
  }
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<SigningKey> keys;
  try {
    keys = load_or_create_keys({.dir = dir,
                                .zone = *apex,
                                .algorithm = algorithm,
                                .layout = dc.keys == "ksk-zsk" ? KeyLayout::kKskZsk : KeyLayout::kCombined},
                               now);
  } catch (const std::runtime_error& e) {
    throw core::config::Error("dnssec.key_dir", e.what());
  }
  auto seconds = [](std::chrono::milliseconds d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d);
  };
  SignerOptions options{.validity = seconds(dc.signature_validity),
                        .refresh = seconds(dc.signature_refresh),
                        .dnskey_ttl = zone->soa().ttl};
  if (options.validity < std::chrono::hours(1)) {
    throw core::config::Error("dnssec.signature_validity",
                              "\"" + core::format_duration(dc.signature_validity) + "\" is shorter than 1h");
  }
  std::shared_ptr<const ZoneSigner> signer;
  try {
    signer = std::make_shared<const ZoneSigner>(*apex, std::move(keys), std::move(options));
  } catch (const std::invalid_argument& e) {
    throw core::config::Error("dnssec.key_dir", e.what());
  }
  for (const auto& k : signer->keys()) {
    spdlog::info("DNSSEC: signing {} with {} key {} ({}{})", apex->to_string(), to_string(k.algorithm()),
                 k.key_tag(), k.is_ksk() ? "KSK" : "ZSK", k.active(now) ? "" : ", not active");
  }
  return signer;
}

std::string zone_list(const ServerData& d) {
  std::string out;
  for (const auto& z : d.zones.zones()) out += (out.empty() ? "" : ", ") + z->apex().to_string();
  return out.empty() ? "none" : out;
}

// Why this server cannot answer the dns-01 challenge of `domain` (normalised,
// "*." allowed), or "" when it can: the name must lie in a served zone, not
// below a zone cut, and zone data must not answer its _acme-challenge TXT
// itself (a static record or a wildcard would hide the challenge record).
std::string challenge_obstacle(const ServerData& d, std::string_view domain) {
  std::string_view base = domain;
  if (base.starts_with("*.")) base.remove_prefix(2);
  std::string challenge = "_acme-challenge.";
  challenge += base;
  auto name = Name::from_text(challenge);
  const Zone* zone = name ? d.zones.find(*name) : nullptr;
  if (!zone) {
    return fmt::format("\"{}\" is not in a zone this server is authoritative for (zones: {})", domain,
                       zone_list(d));
  }
  auto lk = zone->lookup(*name, RRType::kTXT);
  if (lk.match == Zone::Match::kDelegation) {
    return fmt::format(
        "\"{}\" is delegated away at {} (a zone cut in {}): this server is not authoritative for it", domain,
        lk.node_name.to_string(), zone->apex().to_string());
  }
  if ((lk.match == Zone::Match::kExact || lk.match == Zone::Match::kWildcard) &&
      (lk.node->find(RRType::kTXT) || lk.node->find(RRType::kCNAME))) {
    return fmt::format("zone data of {} answers {} itself ({} at {}), which would hide the challenge record",
                       zone->apex().to_string(), challenge, lk.node->find(RRType::kCNAME) ? "CNAME" : "TXT",
                       lk.match == Zone::Match::kWildcard ? lk.node_name.to_string() : name->to_string());
  }
  return {};
}

// An order for `domains` as the config's `acme` section and `o` say.
acme::ManagedCertificate managed_certificate(const ServerConfig& config, std::vector<std::string> domains,
                                             const CertificateOptions& o) {
  const AcmeConfig* ac = config.acme ? &*config.acme : nullptr;
  auto pick = [](const std::string& given, const std::string* fallback) {
    return !given.empty() || !fallback ? given : *fallback;
  };
  acme::ManagedCertificate m;
  m.domains = std::move(domains);
  m.cert_dir = pick(o.cert_dir, ac ? &ac->cert_dir : nullptr);
  if (m.cert_dir.empty()) {
    if (config.state_dir.empty()) throw acme::Error("certificate store", "no cert_dir and no state_dir");
    m.cert_dir = std::filesystem::path(config.state_dir) / "certs";
  }
  m.client.directory = pick(o.directory, ac ? &ac->directory : nullptr);
  m.client.directory_ca = pick(o.directory_ca, ac ? &ac->directory_ca : nullptr);
  auto email = pick(o.email, ac ? &ac->email : nullptr);
  if (!email.empty()) m.client.contact = {"mailto:" + email};
  m.client.key_type = o.key_type ? *o.key_type
                      : ac       ? acme::parse_key_type(ac->key_type).value_or(acme::KeyType::kEcdsaP256)
                                 : acme::KeyType::kEcdsaP256;
  if (ac) {
    m.client.account_key_type =
        acme::parse_key_type(ac->account_key_type).value_or(acme::KeyType::kEcdsaP256);
  }
  if (ac && ac->renew_before) {
    m.renewal.renew_before = std::chrono::duration_cast<std::chrono::seconds>(*ac->renew_before);
  }
  if (m.client.directory.empty()) {
    throw acme::Error("directory", "no ACME directory URL given (and no acme.directory in the config)");
  }
  return m;
}

}  // namespace

Zone load_zone_file(const std::string& path, const std::optional<Name>& apex,
                    const ZoneBuildOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ZoneError(path, 0, "cannot read the file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();

  ZoneParseOptions parse;
  std::optional<Name> origin = apex ? apex : declared_origin(text);
  if (!origin) {
    // No $ORIGIN: the SOA's owner, written absolute, names the zone.
    for (auto& r : parse_zone(text, parse, path)) {
      if (r.type == RRType::kSOA) {
        origin = r.owner;
        break;
      }
    }
    if (!origin || origin->is_root()) {
      throw ZoneError(path, 0,
                      "no $ORIGIN and no SOA with an absolute owner name: cannot tell which zone this is");
    }
  }
  parse.origin = *origin;
  auto records = parse_zone(text, parse, path);
  try {
    return Zone::build(*origin, std::move(records), options);
  } catch (const std::invalid_argument& e) {
    throw ZoneError(path, 0, e.what());
  }
}

std::vector<Zone> load_zones(const ServerConfig& config) {
  std::vector<Zone> zones;
  auto options = build_options(config);
  for (std::size_t i = 0; i < config.zones.size(); ++i) {
    const auto& zc = config.zones[i];
    std::optional<Name> apex;
    if (zc.apex) {
      apex = Name::from_text(*zc.apex);
      if (!apex)
        throw core::config::Error(fmt::format("zones[{}].apex", i),
                                  "\"" + *zc.apex + "\" is not a domain name");
    }
    if (zc.file) {
      zones.push_back(load_zone_file(*zc.file, apex, options));
    } else {
      zones.push_back(Zone::build(*apex, {}, options));
    }
    for (std::size_t j = 0; j + 1 < zones.size(); ++j) {
      if (zones[j].apex() == zones.back().apex()) {
        throw core::config::Error(fmt::format("zones[{}]", i),
                                  fmt::format("zone {} is declared twice", zones.back().apex().to_string()));
      }
    }
  }
  return zones;
}

struct Server::Impl {
  explicit Impl(ServerConfig c)
      : config(std::move(c)),
        runtime({.workers = config.workers}),
        shutdown(runtime, std::chrono::seconds(5)),
        responder({.localhost = config.localhost, .max_udp_payload = config.max_udp_payload}),
        counters(runtime.workers() + 1) {
    auto d = std::make_shared<ServerData>();
    for (auto& z : load_zones(config)) d->zones.put(std::make_shared<const Zone>(std::move(z)));
    if (config.dnssec) d->signers.push_back(make_signer(config, d->zones));
    data.publish(std::move(d));
    for (std::size_t i = 0; i < runtime.workers(); ++i) {
      workers.push_back(std::make_unique<Worker>(responder, data, counters[i], config.handler_timeout));
    }
    if (!config.doh.empty()) {
      std::string error;
      auto base = doh_certificate(config);
      tls = core::TlsServerContext::create({.certificates = {base}, .alpn = http::alpn_protocols()}, &error);
      if (!tls) throw core::config::Error("tls", error);
      doh_certificates.emplace(*tls, base);
    }
    if (config.acme) {
      auto d = data.load();
      for (std::size_t i = 0; i < config.acme->domains.size(); ++i) {
        auto why = challenge_obstacle(*d, acme::normalize_domains({config.acme->domains[i]}).front());
        if (!why.empty()) throw core::config::Error(fmt::format("acme.domains[{}]", i), why);
      }
    }
  }

  HandlerId add_handler(std::string_view pattern, std::vector<RRType> types, HandlerFn sync,
                        AsyncHandlerFn async) {
    std::string error;
    auto glob = core::Glob::compile(pattern, {.case_insensitive = true}, &error);
    if (!glob) throw std::invalid_argument(fmt::format("handler pattern \"{}\" {}", pattern, error));
    auto suffix = pattern_suffix(pattern);
    auto id = next_handler.fetch_add(1);
    data.update([&](ServerData& d) {
      auto name = suffix.empty() ? std::nullopt : Name::from_text(suffix);
      if (!name || !d.zones.find(*name)) {
        throw std::invalid_argument(
            fmt::format("handler pattern \"{}\" is not inside any zone of this server (zones: {})", pattern,
                        zone_list(d)));
      }
      d.handlers.add(std::make_shared<const HandlerEntry>(
          HandlerEntry{id, std::move(*glob), std::move(types), std::move(sync), std::move(async)}));
    });
    return id;
  }

  // RFC 1996: tell each configured secondary that a zone changed.
  asio::awaitable<void> notify(Name apex, core::Endpoint target) {
    std::mt19937 rng(std::random_device{}());
    asio::ip::udp::socket socket(co_await asio::this_coro::executor);
    auto remote = core::to_asio<asio::ip::udp>(target);
    socket.open(remote.protocol());
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::array<std::uint8_t, 512> buf;
      MessageWriter w(buf);
      auto id = static_cast<std::uint16_t>(rng());
      w.header().id = id;
      w.header().opcode = Opcode::kNotify;
      w.header().aa = true;
      w.add_question(apex, RRType::kSOA, RRClass::kIN);
      auto n = w.finish();
      co_await socket.async_send_to(asio::buffer(buf.data(), n), remote, asio::use_awaitable);
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(socket.get_executor(), std::chrono::seconds(2));
      std::array<std::uint8_t, 512> reply;
      asio::ip::udp::endpoint from;
      auto r = co_await (socket.async_receive_from(asio::buffer(reply), from, asio::use_awaitable) ||
                         timer.async_wait(asio::use_awaitable));
      if (r.index() == 0) {
        MessageView v;
        if (v.parse({reply.data(), std::get<0>(r)}) == WireError::kOk && v.header().id == id &&
            v.header().qr) {
          spdlog::info("NOTIFY {} to {}: {}", apex.to_string(), target.to_string(),
                       to_string(static_cast<Rcode>(v.rcode())));
          co_return;
        }
      }
    }
    spdlog::warn("NOTIFY {} to {}: no answer after 3 attempts", apex.to_string(), target.to_string());
  }

  void send_notifies(const Name& apex) {
    if (!started) return;
    for (const auto& t : config.transfer.notify) {
      asio::co_spawn(runtime.control(), notify(apex, t), [apex, t](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::warn("NOTIFY {} to {}: {}", apex.to_string(), t.to_string(), ex.what());
        }
      });
    }
  }

  // The Worker of the DNS worker thread that runs `ex`, or null when `ex` is
  // not one of them (process_packet(), engine mode's control thread, an
  // http::Server on another runtime).
  Worker* worker_on(const asio::any_io_executor& ex) {
    const asio::execution_context* context = &asio::query(ex, asio::execution::context);
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (context == &runtime.worker(i)) return workers[i].get();
    }
    return nullptr;
  }

  // Answers one message on the DNS worker running this coroutine (with its
  // counters, buffer and snapshot reader), else on a Worker of its own that
  // counts as manual mode. `state` has been reset(); empty: no answer.
  template <class Out>
  asio::awaitable<Out> answer_here(std::span<const std::uint8_t> query, QueryState& state) {
    auto executor = co_await asio::this_coro::executor;
    Worker* worker = worker_on(executor);
    std::optional<Worker> own;
    if (!worker) worker = &own.emplace(responder, data, counters.back(), config.handler_timeout);
    auto buffer = worker->buffer();
    std::size_t size = 0;
    Out out;
    switch (worker->answer(query, state, buffer, size)) {
      case Worker::Result::kDropped:
      case Worker::Result::kTransfer:  // (AXFR is served by the TCP listener only)
        co_return out;
      case Worker::Result::kAnswered:
        out.assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size));
        co_return out;
      case Worker::Result::kAsync:
        break;
    }
    // Other queries use the worker's buffer while the handlers run.
    out.resize(state.limit);
    size = co_await worker->answer_async(
        state, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
    out.resize(size);
    co_return out;
  }

  asio::awaitable<DohAnswer> answer_doh(std::span<const std::uint8_t> query, core::Endpoint client) {
    QueryState state;
    state.reset(Transport::kHttps, client);
    DohAnswer answer;
    answer.message = co_await answer_here<std::string>(query, state);
    // A message that does not parse is a 400 for DoH, not a FORMERR.
    if (state.parse_error != WireError::kOk) answer.message.clear();
    answer.max_age = state.max_age();
    co_return answer;
  }

  ServerConfig config;
  core::Runtime runtime;
  core::Shutdown shutdown;
  Responder responder;
  core::Snapshot<ServerData> data;
  std::vector<Counters> counters;  // one per worker, the last for manual mode
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<TcpListener>> tcp;
  std::vector<core::Endpoint> udp_bound, tcp_bound;
  std::atomic<std::size_t> tcp_open{0};
  std::atomic<HandlerId> next_handler{1};
  std::optional<core::TlsServerContext> tls;        // the DoH listeners' certificates, when DoH is configured
  std::optional<DohCertificates> doh_certificates;  // what `tls` serves: base + ACME certificates
  std::unique_ptr<Dns01Solver> solver;              // ACME dns-01 through the handler table
  std::unique_ptr<acme::CertificateManager> acme_manager;  // config `acme`, once started
  std::vector<std::unique_ptr<http::Server>> doh_http;
  std::vector<core::Endpoint> doh_bound;
  std::unique_ptr<http::Server> metrics_http;  // Prometheus text at /metrics, when configured
  std::optional<core::Endpoint> metrics_bound;
  bool started = false;
  mutable std::mutex mutex;  // start/stop and the bound-address lists
};

Server::Server(ServerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  impl_->solver = std::make_unique<Dns01Solver>(*this);
}

Server::~Server() {
  stop(std::chrono::milliseconds(0));
  impl_->runtime.stop();
  impl_->runtime.join();
}

void Server::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started) return;
  auto& rt = impl_->runtime;
  TcpLimits limits{impl_->config.tcp.idle_timeout, impl_->config.tcp.max_pipelined,
                   impl_->config.tcp.max_connections};
  for (const auto& ep : impl_->config.listen) {
    auto udp_sockets = core::open_udp_per_worker(rt, core::to_asio<asio::ip::udp>(ep),
                                                 {.receive_buffer = 4 << 20, .send_buffer = 4 << 20});
    auto udp_port = udp_sockets.front().local_endpoint().port();
    auto tcp_at = core::to_asio<asio::ip::tcp>(ep);
    if (ep.port == 0) tcp_at.port(udp_port);  // the same port for both, as a DNS server should
    auto acceptors = core::open_tcp_per_worker(rt, tcp_at);
    impl_->udp_bound.push_back({ep.address, udp_port});
    impl_->tcp_bound.push_back({ep.address, acceptors.front().local_endpoint().port()});
    for (std::size_t i = 0; i < rt.workers(); ++i) {
      impl_->udp.push_back(std::make_unique<UdpListener>(std::move(udp_sockets[i]), *impl_->workers[i],
                                                         impl_->config.max_udp_payload));
      impl_->tcp.push_back(std::make_unique<TcpListener>(std::move(acceptors[i]), *impl_->workers[i], limits,
                                                         impl_->tcp_open, impl_->config.transfer.allow));
    }
  }
  for (auto& l : impl_->udp) l->start();
  for (auto& l : impl_->tcp) l->start();
  if (const auto& at = impl_->config.metrics.listen) {
    http::Router router;
    router.add("/metrics", {"GET"}, [this](http::Request) -> asio::awaitable<http::Response> {
      co_return http::Response(200, metrics().prometheus(), "text/plain; version=0.0.4; charset=utf-8");
    });
    impl_->metrics_http = std::make_unique<http::Server>(rt, router.handler());
    impl_->metrics_http->attach(impl_->shutdown);
    auto port = impl_->metrics_http->listen({.endpoint = *at, .h2c = false});
    impl_->metrics_bound = core::Endpoint{at->address, port};
    spdlog::info("serving Prometheus metrics on http://{}/metrics", impl_->metrics_bound->to_string());
  }
  if (const auto& ac = impl_->config.acme) {
    // The stored certificate is installed before DoH listens; the CA is
    // asked (on the control thread) only when none is held or renewal is due.
    auto managed = managed_certificate(impl_->config, acme::normalize_domains(ac->domains), {});
    impl_->acme_manager = std::make_unique<acme::CertificateManager>(
        rt.control(), std::move(managed), *impl_->solver, [this](const acme::StoredCertificate& c) {
          if (impl_->doh_certificates) impl_->doh_certificates->install(c);
        });
    if (auto held = impl_->acme_manager->start()) {
      spdlog::info("ACME: serving the stored certificate for {} (valid until {:%Y-%m-%d %H:%M:%S} UTC)",
                   fmt::join(held->domains, ", "),
                   fmt::gmtime(std::chrono::system_clock::to_time_t(held->not_after)));
    }
  }
  for (const auto& d : impl_->config.doh) {
    DohHandler doh(doh_answerer());
    http::Router router;
    router.add(d.path, {"GET", "POST"}, doh);
    auto server = std::make_unique<http::Server>(rt, router.handler(), DohHandler::limits());
    server->attach(impl_->shutdown);
    auto port = server->listen({.endpoint = *d.listen, .tls = impl_->tls});
    impl_->doh_bound.push_back({d.listen->address, port});
    impl_->doh_http.push_back(std::move(server));
    spdlog::info("serving DNS over HTTPS on https://{}{} (HTTP/2 and HTTP/1.1)",
                 impl_->doh_bound.back().to_string(), d.path);
  }
  impl_->shutdown.on_begin([this] {
    // Close each listener on its own worker thread.
    auto& rt = impl_->runtime;
    std::size_t per = rt.workers();
    for (std::size_t i = 0; i < impl_->udp.size(); ++i) {
      asio::post(rt.worker(i % per), [l = impl_->udp[i].get()] { l->close(); });
      asio::post(rt.worker(i % per), [l = impl_->tcp[i].get()] { l->close(); });
    }
  });
  impl_->started = true;
  rt.start();
  for (const auto& z : impl_->data.load()->zones.zones()) impl_->send_notifies(z->apex());
  for (const auto& ep : impl_->udp_bound) spdlog::info("serving DNS on {} (UDP and TCP)", ep.to_string());
}

void Server::stop(std::chrono::milliseconds drain) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->started) return;
  if (impl_->acme_manager) impl_->acme_manager->stop();
  impl_->shutdown.begin("stop requested", drain);
}

void Server::wait() {
  impl_->runtime.join();
}

void Server::stop_on_signals() {
  impl_->shutdown.watch_signals();
}

std::vector<core::Endpoint> Server::udp_endpoints() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->udp_bound;
}

std::optional<core::Endpoint> Server::metrics_endpoint() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->metrics_bound;
}

std::vector<core::Endpoint> Server::doh_endpoints() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->doh_bound;
}

void Server::update_certs(const core::TlsCertificateSource& source) {
  if (!impl_->doh_certificates) throw std::invalid_argument("this server has no DNS-over-HTTPS listener");
  impl_->doh_certificates->set_base(source);
  spdlog::info("DoH certificate replaced");
}

asio::awaitable<RetrievedCertificate> Server::async_retrieve_certificate(std::vector<std::string> domains,
                                                                         CertificateOptions options) {
  std::vector<std::string> names;
  try {
    names = acme::normalize_domains(domains);
  } catch (const std::invalid_argument& e) {
    throw acme::Error("domains", e.what());
  }
  {
    auto d = impl_->data.load();
    for (const auto& n : names) {
      auto why = challenge_obstacle(*d, n);
      if (!why.empty()) throw acme::Error("authority check", why);
    }
  }
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->started)
      throw acme::Error("start", "the server is not running, so the CA could not reach it");
  }
  auto managed = managed_certificate(impl_->config, std::move(names), options);
  auto obtained = co_await acme::obtain_or_load(managed, *impl_->solver, options.progress);
  if (impl_->doh_certificates) impl_->doh_certificates->install(obtained.certificate);
  RetrievedCertificate result;
  result.certificate = std::move(obtained.certificate);
  result.issued = obtained.issued;
  co_return result;
}

RetrievedCertificate Server::retrieve_certificate(std::vector<std::string> domains,
                                                  CertificateOptions options) {
  {
    // Before start() the control thread does not run: nothing would answer.
    std::lock_guard lock(impl_->mutex);
    if (!impl_->started)
      throw acme::Error("start", "the server is not running, so the CA could not reach it");
  }
  std::promise<RetrievedCertificate> promise;
  auto future = promise.get_future();
  asio::co_spawn(impl_->runtime.control(), async_retrieve_certificate(std::move(domains), std::move(options)),
                 [&promise](std::exception_ptr e, RetrievedCertificate r) {
                   if (e) {
                     promise.set_exception(e);
                   } else {
                     promise.set_value(std::move(r));
                   }
                 });
  return future.get();
}

std::vector<core::Endpoint> Server::tcp_endpoints() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tcp_bound;
}

HandlerId Server::handle(std::string_view pattern, std::vector<RRType> types, HandlerFn fn) {
  if (!fn) throw std::invalid_argument("handler function is empty");
  return impl_->add_handler(pattern, std::move(types), std::move(fn), {});
}

HandlerId Server::handle_async(std::string_view pattern, std::vector<RRType> types, AsyncHandlerFn fn) {
  if (!fn) throw std::invalid_argument("handler function is empty");
  return impl_->add_handler(pattern, std::move(types), {}, std::move(fn));
}

void Server::set_fallback_handler(AsyncHandlerFn fn) {
  std::shared_ptr<const HandlerEntry> entry;
  if (fn) {
    auto glob = core::Glob::compile("**", {.case_insensitive = true});
    entry = std::make_shared<const HandlerEntry>(
        HandlerEntry{impl_->next_handler.fetch_add(1), std::move(*glob), {}, {}, std::move(fn)});
  }
  impl_->data.update([&](ServerData& d) { d.fallback = entry; });
}

bool Server::remove_handler(HandlerId id) {
  bool removed = false;
  impl_->data.update([&](ServerData& d) { removed = d.handlers.remove(id); });
  return removed;
}

void Server::put_zone(Zone zone) {
  Name apex = zone.apex();
  auto z = std::make_shared<const Zone>(std::move(zone));
  impl_->data.update([&](ServerData& d) { d.zones.put(z); });
  impl_->send_notifies(apex);
}

bool Server::remove_zone(const Name& apex) {
  bool removed = false;
  impl_->data.update([&](ServerData& d) { removed = d.zones.remove(apex); });
  return removed;
}

std::vector<Name> Server::zone_apexes() const {
  std::vector<Name> out;
  for (const auto& z : impl_->data.load()->zones.zones()) out.push_back(z->apex());
  return out;
}

asio::awaitable<std::vector<std::uint8_t>> Server::async_process_packet(std::span<const std::uint8_t> query,
                                                                        Transport transport) {
  QueryState state;
  state.reset(transport, std::nullopt);
  co_return co_await impl_->answer_here<std::vector<std::uint8_t>>(query, state);
}

DohAnswerer Server::doh_answerer() {
  return [impl = impl_.get()](std::span<const std::uint8_t> query, const core::Endpoint& client) {
    return impl->answer_doh(query, client);
  };
}

std::vector<std::uint8_t> Server::process_packet(std::span<const std::uint8_t> query) {
  asio::io_context io;
  std::vector<std::uint8_t> result;
  std::exception_ptr error;
  asio::co_spawn(io, async_process_packet(query), [&](std::exception_ptr e, std::vector<std::uint8_t> r) {
    error = e;
    result = std::move(r);
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return result;
}

void Server::set_query_observer(QueryObserver observer) {
  impl_->data.update([&](ServerData& d) { d.observer = std::move(observer); });
}

Metrics Server::metrics() const {
  Metrics m;
  for (const auto& c : impl_->counters) m.add(c);
  return m;
}

const ServerConfig& Server::config() const noexcept {
  return impl_->config;
}
core::Runtime& Server::runtime() {
  return impl_->runtime;
}

}  // namespace basalt::dns
