#include "basalt/dns/server/server.hpp"

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
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "basalt/core/duration.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/snapshot.hpp"
#include "basalt/core/socket.hpp"
#include "basalt/core/source_steering.hpp"
#include "basalt/dns/dnssec/key_store.hpp"
#include "basalt/dns/server/doh.hpp"
#include "basalt/dns/wire/message_writer.hpp"
#include "basalt/dns/zone/zone_error.hpp"
#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"
#include "basalt/service/certificate_set.hpp"
#include "server/denial_keeper.hpp"
#include "server/invalid_record_log.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"
#include "server/worker.hpp"

namespace basalt::dns {
namespace asio = boost::asio;

namespace {

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
  if (dc.denial != "nsec" && dc.denial != "nsec3") {
    throw core::config::Error("dnssec.denial", "\"" + dc.denial + "\" is not one of: nsec, nsec3");
  }
  std::optional<Nsec3Params> nsec3;
  if (dc.denial == "nsec3") {
    auto salt = DnssecConfig::nsec3_salt_octets(dc.nsec3_salt);
    if (!salt) throw core::config::Error("dnssec.nsec3_salt", "\"" + dc.nsec3_salt + "\" is not a salt");
    if (dc.nsec3_iterations > 50) {
      throw core::config::Error("dnssec.nsec3_iterations",
                                "\"" + std::to_string(dc.nsec3_iterations) + "\" is more than 50");
    }
    nsec3 =
        Nsec3Params{.iterations = static_cast<std::uint16_t>(dc.nsec3_iterations), .salt = std::move(*salt)};
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
                        .dnskey_ttl = zone->soa().ttl,
                        .nsec3 = std::move(nsec3)};
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

// The DNS Cookies of `config.cookies`, or null when they are off.
std::shared_ptr<const ServerCookies> make_cookies(const CookiesConfig& config) {
  if (!config.enabled) return nullptr;
  ServerCookiesOptions o{.rotate = std::chrono::duration_cast<std::chrono::seconds>(config.rotate),
                         .require = config.require};
  if (config.secret) {
    o.secret = cookie_secret(*config.secret);
    if (!o.secret)
      throw core::config::Error("cookies.secret",
                                "\"" + *config.secret + "\" is not 32 hex digits (a 16-octet secret)");
  }
  if (o.rotate < std::chrono::hours(1)) {
    throw core::config::Error("cookies.rotate",
                              "\"" + core::format_duration(config.rotate) + "\" is shorter than 1h");
  }
  return std::make_shared<const ServerCookies>(o);
}

RateLimits rate_limits(const RrlConfig& c) {
  RateLimits l;
  l.rate = {c.rate, c.rate, c.nxdomain_rate.value_or(c.rate), c.error_rate.value_or(c.rate)};
  l.burst = c.burst;
  l.slip = c.slip;
  l.prefix_v4 = static_cast<int>(c.ipv4_prefix);
  l.prefix_v6 = static_cast<int>(c.ipv6_prefix);
  l.table_size = c.table_size;
  l.exempt = c.exempt;
  l.log = c.log;
  return l;
}

std::string zone_list(const ServerData& d) {
  std::string out;
  for (const auto& z : d.zones.zones()) out += (out.empty() ? "" : ", ") + z->apex().to_string();
  return out.empty() ? "none" : out;
}

}  // namespace

struct Server::Impl {
  Impl(ServerConfig c, std::shared_ptr<service::CertificateSet> certs)
      : config(std::move(c)),
        runtime({.workers = config.workers}),
        shutdown(runtime, std::chrono::seconds(5)),
        certificates(std::move(certs)),
        responder(
            {.localhost = config.localhost,
             .max_udp_payload = config.max_udp_payload,
             .invalid_record =
                 [this](std::string_view source, const Name& owner, RRType type, std::string_view reason) {
                   invalid_records.report(source, owner.to_string(), to_string(type), reason);
                 },
             .cookies = make_cookies(config.cookies)}),
        counters(runtime.workers() + 1) {
    auto d = std::make_shared<ServerData>();
    for (auto& z : load_zones(config)) d->zones.put(std::make_shared<const Zone>(std::move(z)));
    if (config.dnssec) d->signers.push_back(make_signer(config, d->zones));
    denial.fit(*d);
    data.publish(std::move(d));
    denial.wake();  // builds what fit() left to the background
    if (config.rrl) {
      rate_limiter = std::make_unique<ResponseRateLimiter>(rate_limits(*config.rrl));
      spdlog::info(
          "response rate limiting: {} answers/s, {} NXDOMAIN/s, {} errors/s per /{} and /{}, slip {}",
          config.rrl->rate, config.rrl->nxdomain_rate.value_or(config.rrl->rate),
          config.rrl->error_rate.value_or(config.rrl->rate), config.rrl->ipv4_prefix, config.rrl->ipv6_prefix,
          config.rrl->slip);
    }
    for (std::size_t i = 0; i < runtime.workers(); ++i) {
      workers.push_back(std::make_unique<Worker>(responder, data, counters[i], config.handler_timeout,
                                                 config.max_handler_queries, rate_limiter.get()));
    }
    if (!config.doh.empty()) {
      // The DoH listeners' certificates: the caller's set, else one from
      // `tls` or a self-signed pair in state_dir (doh-cert.pem, doh-key.pem).
      if (!certificates) {
        service::CertificateSetOptions o{.tls = config.tls,
                                         .state_dir = config.state_dir,
                                         .self_signed_name = "doh",
                                         .alpn = http::alpn_protocols()};
        for (const auto& d : config.doh) {
          if (d.listen) o.self_signed_addresses.push_back(d.listen->address);
        }
        certificates = std::make_shared<service::CertificateSet>(std::move(o));
      }
      tls = certificates->context();
    }
  }

  HandlerId add_handler(std::string_view pattern, std::vector<RRType> types, HandlerFn sync,
                        AsyncHandlerFn async) {
    std::string error;
    auto glob = core::Glob::compile(pattern, {.case_insensitive = true}, &error);
    if (!glob) throw std::invalid_argument(fmt::format("handler pattern \"{}\" {}", pattern, error));
    auto suffix = pattern_suffix(pattern);
    auto id = next_handler.fetch_add(1);
    denial.update([&](ServerData& d) {
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
    if (!worker)
      worker =
          &own.emplace(responder, data, counters.back(), config.handler_timeout, config.max_handler_queries);
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
  // The DoH listeners', when DoH is configured. After `runtime`: its ACME
  // renewals hold timers of the runtime's control context, so the set must
  // go first.
  std::shared_ptr<service::CertificateSet> certificates;
  InvalidRecordLog invalid_records;
  Responder responder;
  core::Snapshot<ServerData> data;
  DenialKeeper denial{data};                          // every change of `data` goes through denial.update()
  std::vector<Counters> counters;                     // one per worker, the last for manual mode
  std::unique_ptr<ResponseRateLimiter> rate_limiter;  // config `rrl`; null: off
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<TcpListener>> tcp;
  std::vector<core::Endpoint> udp_bound, tcp_bound;
  std::atomic<HandlerId> next_handler{1};
  std::optional<core::TlsServerContext> tls;  // certificates->context(), when DoH is configured
  std::vector<std::unique_ptr<http::Server>> doh_http;
  std::vector<core::Endpoint> doh_bound;
  bool started = false;
  mutable std::mutex mutex;  // start/stop and the bound-address lists
};

Server::Server(ServerConfig config, std::shared_ptr<service::CertificateSet> certificates)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(certificates))) {}

Server::~Server() {
  stop(std::chrono::milliseconds(0));
  impl_->runtime.stop();
  impl_->runtime.join();
}

void Server::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started) return;
  auto& rt = impl_->runtime;
  const auto& tcp = impl_->config.tcp;
  TcpLimits limits{.idle_timeout = tcp.idle_timeout,
                   .write_timeout = tcp.write_timeout,
                   .max_pipelined = tcp.max_pipelined,
                   .max_queued_bytes = tcp.max_queued_bytes};
  // One admission for every listener and worker: the limits are server-wide.
  auto admission = TcpAdmission::create({.max_connections = tcp.max_connections,
                                         .per_address = tcp.max_connections_per_address,
                                         .per_prefix = tcp.max_connections_per_network,
                                         .prefix_v4 = static_cast<int>(tcp.network_prefix_v4),
                                         .prefix_v6 = static_cast<int>(tcp.network_prefix_v6)});
  const int udp_rcvbuf = static_cast<int>(impl_->config.udp.receive_buffer);
  const int udp_sndbuf = static_cast<int>(impl_->config.udp.send_buffer);
  const std::string& steering = impl_->config.udp.steering;
  if (steering != "flow" && steering != "source_network") {
    throw core::config::Error("udp.steering", "\"" + steering + "\" is not one of: flow, source_network");
  }
  for (const auto& ep : impl_->config.listen) {
    std::vector<asio::ip::udp::socket> udp_sockets;
    std::vector<asio::ip::tcp::acceptor> acceptors;
    std::uint16_t udp_port = 0;
    // Port 0: the same port for both, as a DNS server should have. The port
    // the kernel picked for UDP may be held for TCP (by an outgoing
    // connection's local end, say): then another pick, a few times.
    for (int attempt = 1;; ++attempt) {
      udp_sockets = core::open_udp_per_worker(rt, core::to_asio<asio::ip::udp>(ep),
                                              {.receive_buffer = udp_rcvbuf, .send_buffer = udp_sndbuf});
      udp_port = udp_sockets.front().local_endpoint().port();
      auto tcp_at = core::to_asio<asio::ip::tcp>(ep);
      if (ep.port == 0) tcp_at.port(udp_port);
      try {
        acceptors = core::open_tcp_per_worker(rt, tcp_at);
        if (steering == "source_network") core::steer_by_source_network(udp_sockets);
        break;
      } catch (const core::AddressInUse&) {
        if (ep.port != 0 || attempt == 16) throw;
        udp_sockets.clear();
      }
    }
    impl_->udp_bound.push_back({ep.address, udp_port});
    impl_->tcp_bound.push_back({ep.address, acceptors.front().local_endpoint().port()});
    for (std::size_t i = 0; i < rt.workers(); ++i) {
      impl_->udp.push_back(std::make_unique<UdpListener>(std::move(udp_sockets[i]), *impl_->workers[i],
                                                         impl_->config.max_udp_payload));
      impl_->tcp.push_back(std::make_unique<TcpListener>(std::move(acceptors[i]), *impl_->workers[i], limits,
                                                         admission, impl_->config.transfer.allow));
    }
  }
  for (auto& l : impl_->udp) l->start();
  for (auto& l : impl_->tcp) l->start();
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

std::vector<core::Endpoint> Server::doh_endpoints() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->doh_bound;
}

void Server::update_certs(const core::TlsCertificateSource& source) {
  if (!impl_->certificates) throw std::invalid_argument("this server has no DNS-over-HTTPS listener");
  impl_->certificates->set_static(source);
}

const std::shared_ptr<service::CertificateSet>& Server::certificates() const noexcept {
  return impl_->certificates;
}

std::shared_ptr<const Zone> Server::find_zone(const Name& name) const {
  auto d = impl_->data.load();
  const Zone* z = d->zones.find(name);
  return z ? d->zones.get(z->apex()) : nullptr;
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
  impl_->denial.update([&](ServerData& d) { d.fallback = entry; });
}

bool Server::remove_handler(HandlerId id) {
  bool removed = false;
  impl_->denial.update([&](ServerData& d) { removed = d.handlers.remove(id); });
  return removed;
}

void Server::put_zone(Zone zone) {
  Name apex = zone.apex();
  auto z = std::make_shared<const Zone>(std::move(zone));
  impl_->denial.update([&](ServerData& d) { d.zones.put(z); });
  impl_->send_notifies(apex);
}

std::vector<Server::ReloadedZone> Server::reload_zones() {
  // Parse everything first: a broken file leaves the served data untouched.
  std::vector<std::shared_ptr<const Zone>> zones;
  for (auto& z : load_zones(impl_->config)) zones.push_back(std::make_shared<const Zone>(std::move(z)));
  std::vector<ReloadedZone> out;
  impl_->denial.update([&](ServerData& d) {
    out.clear();
    for (const auto& z : zones) {
      const auto* old = d.zones.get(z->apex()).get();
      out.push_back({z->apex(), old ? std::optional(old->serial()) : std::nullopt, z->serial()});
      d.zones.put(z);
    }
  });
  for (const auto& r : out) {
    if (r.old_serial == r.serial) {
      spdlog::info("zone {} reloaded, serial {} unchanged (secondaries are not told)", r.apex.to_string(),
                   r.serial);
      continue;
    }
    if (r.old_serial) {
      spdlog::info("zone {} reloaded, serial {} -> {}", r.apex.to_string(), *r.old_serial, r.serial);
    } else {
      spdlog::info("zone {} loaded, serial {}", r.apex.to_string(), r.serial);
    }
    impl_->send_notifies(r.apex);
  }
  return out;
}

bool Server::remove_zone(const Name& apex) {
  bool removed = false;
  impl_->denial.update([&](ServerData& d) { removed = d.zones.remove(apex); });
  return removed;
}

std::vector<Name> Server::zone_apexes() const {
  std::vector<Name> out;
  for (const auto& z : impl_->data.load()->zones.zones()) out.push_back(z->apex());
  return out;
}

asio::awaitable<std::vector<std::uint8_t>> Server::async_process_packet(
    std::span<const std::uint8_t> query, Transport transport, std::optional<core::Endpoint> client) {
  QueryState state;
  state.reset(transport, client);
  co_return co_await impl_->answer_here<std::vector<std::uint8_t>>(query, state);
}

DohAnswerer Server::doh_answerer() {
  return [impl = impl_.get()](std::span<const std::uint8_t> query, const core::Endpoint& client) {
    return impl->answer_doh(query, client);
  };
}

std::vector<std::uint8_t> Server::process_packet(std::span<const std::uint8_t> query,
                                                 std::optional<core::Endpoint> client) {
  asio::io_context io;
  std::vector<std::uint8_t> result;
  std::exception_ptr error;
  asio::co_spawn(io, async_process_packet(query, Transport::kManual, client),
                 [&](std::exception_ptr e, std::vector<std::uint8_t> r) {
                   error = e;
                   result = std::move(r);
                 });
  io.run();
  if (error) std::rethrow_exception(error);
  return result;
}

void Server::set_query_observer(QueryObserver observer) {
  impl_->denial.update([&](ServerData& d) { d.observer = std::move(observer); });
}

void Server::report_invalid_handler_record(std::string_view source, std::string_view owner,
                                           std::string_view type, std::string_view reason) {
  impl_->invalid_records.report(source, owner, type, reason);
}

Metrics Server::metrics() const {
  Metrics m;
  for (const auto& c : impl_->counters) m.add(c);
  m.invalid_handler_records = impl_->invalid_records.count();
  for (const auto& s : impl_->data.load()->signers) m.dnssec_signatures += s->signatures_made();
  return m;
}

const ServerConfig& Server::config() const noexcept {
  return impl_->config;
}
core::Runtime& Server::runtime() {
  return impl_->runtime;
}
core::Shutdown& Server::shutdown() {
  return impl_->shutdown;
}

}  // namespace basalt::dns
