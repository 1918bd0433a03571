#include "basalt/dns/engine/engine.hpp"

#include "basalt/dns/dnssec/algorithm.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "basalt/core/encoding.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/record_json.hpp"
#include "basalt/http/server.hpp"
#include "basalt/service/certificate_set.hpp"
#include "basalt/service/commands.hpp"

namespace basalt::dns {
namespace asio = boost::asio;
namespace json = boost::json;

void EngineStartConfig::validate(const core::config::Node& n) const {
  if (!manual_udp_mode && !udp_port) n.fail_at("udpPort", "needed unless manualUdpMode is true");
  if (!manual_https_mode && !https_port) n.fail_at("httpsPort", "needed unless manualHttpsMode is true");
  std::string error;
  if (!manual_udp_mode && !core::IpAddress::parse(udp_bind_interface, &error)) {
    n.fail_at("udpBindInterface", "\"" + udp_bind_interface + "\" is not an IP address: " + error);
  }
  if (!manual_https_mode && !core::IpAddress::parse(https_bind_interface, &error)) {
    n.fail_at("httpsBindInterface", "\"" + https_bind_interface + "\" is not an IP address: " + error);
  }
  // The UDP port serves DNS over TCP too: DoH on the same TCP port and an
  // overlapping address would split the connections between the two.
  if (!manual_udp_mode && !manual_https_mode && udp_port && https_port && *udp_port != 0 &&
      *udp_port == *https_port) {
    auto udp_at = core::IpAddress::parse(udp_bind_interface);
    auto https_at = core::IpAddress::parse(https_bind_interface);
    // IPv6 listeners are v6-only, so the families never overlap.
    if (udp_at->family() == https_at->family() &&
        (*udp_at == *https_at || udp_at->is_unspecified() || https_at->is_unspecified())) {
      n.fail_at("httpsPort",
                fmt::format("{} is also udpPort, whose TCP listener (DNS over TCP) would share the "
                            "port with DoH on overlapping addresses (udpBindInterface \"{}\", "
                            "httpsBindInterface \"{}\"): give them different ports",
                            *https_port, udp_bind_interface, https_bind_interface));
    }
  }
  if (https_key.empty() != https_cert.empty()) {
    n.fail_at(https_key.empty() ? "httpsKey" : "httpsCert", "give both httpsKey and httpsCert, or neither");
  }
  if (dnssec_zone) {
    std::string_view why;
    auto zone = Name::from_text(*dnssec_zone, nullptr, &why);
    if (!zone) n.fail_at("dnssecZone", "\"" + *dnssec_zone + "\" is not a domain name: " + std::string(why));
    if (zone->is_root())
      n.fail_at("dnssecZone", "\"" + *dnssec_zone + "\" is the root, not a zone this server can own");
  }
  if (!parse_algorithm(dnssec_algorithm)) {
    n.fail_at("dnssecAlgorithm",
              "\"" + dnssec_algorithm + "\" is not one of: " + std::string(kAlgorithmHelp));
  }
  if (primary_nameserver && !Name::from_text(*primary_nameserver)) {
    n.fail_at("primaryNameserver", "\"" + *primary_nameserver + "\" is not a domain name");
  }
}

namespace {

// One question waiting for the driver's dnsQueryResult.
struct PendingAnswer {
  explicit PendingAnswer(asio::any_io_executor ex) : wakeup(std::move(ex)) {}
  asio::steady_timer wakeup;  // waited on by the handler; cancelled to wake it
  std::vector<Record> records;
  bool done = false;    // guarded by Impl::mutex
  bool failed = false;  // stop: answer SERVFAIL
};

std::string question_text(const Name& name) {
  auto text = name.to_string();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// The spellings of a name the driver is asked about. The 7.9.0 driver
// matches patterns case-sensitively (minimatch without nocase), so lowercase
// finds the usual lowercase patterns whatever case the query has (DNS 0x20),
// and the query's own spelling, when it differs, finds a pattern with
// capitals written the way the client asks.
std::vector<std::string> question_names(const Name& name) {
  std::vector<std::string> names{question_text(name.lowercased())};
  if (auto exact = question_text(name); exact != names.front()) names.push_back(std::move(exact));
  return names;
}

// The types the driver is asked about. The package's handlers are registered
// per type and never answer "ANY", so an ANY question that reaches the
// driver (over TCP or DoH, or outside the zone: inside it over UDP the
// server answers RFC 8482's HINFO itself) asks for every type a handler may
// have data of: all types with a JSON mapping except the DNSSEC ones, which
// the server makes itself.
std::vector<RRType> question_types(RRType asked) {
  if (asked != RRType::kANY) return {asked};
  return {RRType::kA,    RRType::kAAAA,   RRType::kCNAME, RRType::kDNAME,      RRType::kNS,
          RRType::kSOA,  RRType::kPTR,    RRType::kMX,    RRType::kTXT,        RRType::kSPF,
          RRType::kSRV,  RRType::kNAPTR,  RRType::kCAA,   RRType::kHTTPS,      RRType::kSVCB,
          RRType::kTLSA, RRType::kSMIMEA, RRType::kSSHFP, RRType::kOPENPGPKEY, RRType::kHINFO,
          RRType::kURI};
}

// The dnsQuery event for `q` (an ordinary function: g++ 12 mishandles JSON
// initializer lists in coroutine bodies).
json::object query_event(const std::string& id, const Query& q) {
  json::array questions;
  for (const auto& name : question_names(q.question.name)) {
    for (auto type : question_types(q.question.type)) {
      questions.push_back(
          json::object{{"name", name}, {"type", to_string(type)}, {"class", to_string(q.question.rclass)}});
    }
  }
  return json::object{
      {"correlationId", id}, {"questions", std::move(questions)}, {"dnssecRequested", q.dnssec_ok}};
}

}  // namespace

struct Engine::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Options o) : control(io), options(std::move(o)) {}

  asio::io_context& control;
  Options options;
  Emit emit;
  std::function<ManagementCounters()> management_counters;
  std::unique_ptr<Server> server;
  // The DoH certificate, kept across start and stop: updateCerts before
  // start is what the next start serves.
  std::shared_ptr<service::CertificateSet> certificates =
      std::make_shared<service::CertificateSet>(service::CertificateSetOptions{
          .state_dir = options.state_dir, .self_signed_name = "doh", .alpn = http::alpn_protocols()});

  mutable std::mutex mutex;  // pending, next_id
  std::unordered_map<std::string, std::shared_ptr<PendingAnswer>> pending;
  std::uint64_t next_id = 1;

  void send(std::string_view event, json::value data) {
    if (emit) emit(event, std::move(data));
  }

  // The fallback handler of the server: one dnsQuery per question.
  asio::awaitable<std::vector<Record>> ask_driver(const Query& q) {
    auto entry = std::make_shared<PendingAnswer>(co_await asio::this_coro::executor);
    // A backstop: the worker's own deadline (handler_timeout) cancels us first.
    entry->wakeup.expires_after(options.query_timeout + std::chrono::seconds(1));
    std::string id;
    {
      std::lock_guard lock(mutex);
      id = fmt::format("q{}", next_id++);
      pending.emplace(id, entry);
    }
    // Removes the entry however this coroutine ends: answered, timed out
    // (cancelled by the worker's deadline), or destroyed at shutdown.
    struct Forget {
      Impl* impl;
      std::string id;
      ~Forget() {
        std::lock_guard lock(impl->mutex);
        impl->pending.erase(id);
      }
    } forget{this, id};

    send("dnsQuery", query_event(id, q));
    bool wait = false;
    {
      std::lock_guard lock(mutex);
      wait = !entry->done;
    }
    if (wait) {
      try {
        co_await entry->wakeup.async_wait(asio::use_awaitable);
      } catch (const boost::system::system_error&) {
        // Cancelled: by dnsQueryResult (done is set) or by the deadline.
      }
    }
    std::lock_guard lock(mutex);
    if (!entry->done) throw std::runtime_error("the driver did not answer dnsQuery " + id + " in time");
    if (entry->failed) throw std::runtime_error("the engine stopped before dnsQuery " + id + " was answered");
    co_return std::move(entry->records);
  }

  void fail_pending() {
    std::lock_guard lock(mutex);
    for (auto& [id, entry] : pending) {
      entry->done = entry->failed = true;
      asio::post(entry->wakeup.get_executor(),
                 [e = entry] { e->wakeup.cancel(); });  // clang 14: no capture of a structured binding
    }
    pending.clear();
  }

  void stop_server() {
    if (!server) return;
    fail_pending();
    server->stop(std::chrono::milliseconds(0));
    server.reset();  // joins the server's threads; their coroutines end and forget their entries
    spdlog::info("DNS engine stopped");
    send("stopped", json::object());
  }

  ServerConfig server_config(const EngineStartConfig& c) const {
    ServerConfig s;
    s.state_dir = options.state_dir;
    s.workers = options.workers;
    s.handler_timeout = options.query_timeout;
    s.localhost = c.enable_localhost_handling;
    if (c.dnssec_zone) s.zones.push_back({.apex = *c.dnssec_zone});
    s.primary_nameserver = c.primary_nameserver;
    if (!s.primary_nameserver && c.dnssec_zone) s.primary_nameserver = "ns1." + *c.dnssec_zone;
    // smartdns signs its dnssecZone: keys in <state dir>/keys, kept across starts.
    if (c.dnssec_zone) s.dnssec = DnssecConfig{.zone = *c.dnssec_zone, .algorithm = c.dnssec_algorithm};
    if (!c.manual_udp_mode) s.listen.push_back({*core::IpAddress::parse(c.udp_bind_interface), *c.udp_port});
    if (!c.manual_https_mode) {
      s.doh.push_back(
          {.listen = core::Endpoint{*core::IpAddress::parse(c.https_bind_interface), *c.https_port}});
    }
    return s;
  }

  json::value start(const json::object& params) {
    if (server) throw std::runtime_error("already started (send stop first)");
    auto it = params.find("config");
    if (it == params.end()) throw core::config::Error("config", "missing (the server configuration object)");
    // Unknown keys are ignored: a newer package may send options this engine
    // does not know, and must still start (config files stay strict).
    std::vector<std::string> unknown;
    auto config = core::config::decode<EngineStartConfig>(it->value(), "config", {.unknown_keys = &unknown});
    if (!unknown.empty())
      spdlog::warn("start: ignoring settings this engine does not know: {}", fmt::join(unknown, ", "));
    if (!config.manual_https_mode && !config.https_cert.empty()) {
      try {
        certificates->set_static({config.https_cert, config.https_key});
      } catch (const std::invalid_argument& e) {
        throw core::config::Error("config.httpsCert", e.what());
      }
    }
    auto s = std::make_unique<Server>(server_config(config), certificates);
    std::weak_ptr<Impl> weak = weak_from_this();
    s->set_fallback_handler([weak](const Query& q) -> asio::awaitable<std::vector<Record>> {
      auto self = weak.lock();
      if (!self) throw std::runtime_error("engine is gone");
      co_return co_await self->ask_driver(q);
    });
    s->start();  // throws (nothing kept) if a port cannot be bound
    server = std::move(s);
    json::object result;
    if (!config.manual_udp_mode) result["udpPort"] = server->udp_endpoints().front().port;
    if (!config.manual_https_mode) result["httpsPort"] = server->doh_endpoints().front().port;
    spdlog::info("DNS engine started{}",
                 config.dnssec_zone ? " for zone " + *config.dnssec_zone : std::string());
    send("started", result);
    return result;
  }

  void report_invalid(const json::value& answer, const std::string& error) {
    auto field = [&](std::string_view key) -> std::string {
      const auto* o = answer.if_object();
      const auto* v = o ? o->if_contains(key) : nullptr;
      return v && v->is_string() ? std::string(v->get_string()) : "?";
    };
    server->report_invalid_handler_record("the smartdns handlers (dnsQueryResult)", field("name"),
                                          field("type"), error);
  }

  json::value query_result(const json::object& params) {
    auto id_it = params.find("correlationId");
    if (id_it == params.end() || !id_it->value().is_string()) {
      throw core::config::Error("correlationId", "missing or not a string");
    }
    std::string id(id_it->value().get_string());
    std::vector<Record> records;
    if (auto a = params.find("answers"); a != params.end()) {
      if (!a->value().is_array()) throw core::config::Error("answers", "is not an array");
      const auto& arr = a->value().get_array();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        std::string error;
        auto r = record_from_json(arr[i], &error, 300);
        if (!r) {
          // One bad record costs only itself: the others are still answered.
          if (server) report_invalid(arr[i], error);
          continue;
        }
        // A handler matching several spellings of the name answers once per spelling.
        auto same = [&](const Record& x) {
          return x.owner == r->owner && x.type == r->type && x.rclass == r->rclass && x.rdata == r->rdata;
        };
        if (std::none_of(records.begin(), records.end(), same)) records.push_back(std::move(*r));
      }
    }
    std::shared_ptr<PendingAnswer> entry;
    {
      std::lock_guard lock(mutex);
      auto p = pending.find(id);
      if (p == pending.end()) return json::object{{"resolved", false}};  // late: already SERVFAIL
      entry = p->second;
      pending.erase(p);
      entry->records = std::move(records);
      entry->done = true;
    }
    asio::post(entry->wakeup.get_executor(), [entry] { entry->wakeup.cancel(); });
    return json::object{{"resolved", true}};
  }

  asio::awaitable<json::value> process_packet(const json::object& params) {
    if (!server) throw std::runtime_error("not started (send start first)");
    auto p = params.find("packet");
    if (p == params.end() || !p->value().is_string())
      throw core::config::Error("packet", "missing or not a string");
    auto bytes = core::base64_decode(p->value().get_string(), false);
    if (!bytes) throw core::config::Error("packet", "is not base64");
    auto answer = co_await server->async_process_packet(*bytes, Transport::kManual);
    if (answer.empty()) throw std::runtime_error("packet: not a DNS query, nothing to answer");
    co_return json::object{{"packet", core::base64_encode(answer)}};
  }
};

Engine::Engine(asio::io_context& control, Options options)
    : impl_(std::make_shared<Impl>(control, std::move(options))) {}

Engine::~Engine() {
  impl_->stop_server();
}

void Engine::set_emitter(Emit emit) {
  impl_->emit = std::move(emit);
}

void Engine::set_management_counters(std::function<ManagementCounters()> counters) {
  impl_->management_counters = std::move(counters);
}

void Engine::stop_server() {
  impl_->stop_server();
}

std::size_t Engine::pending_questions() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pending.size();
}

void Engine::register_commands(core::management::Registry& registry) {
  auto impl = impl_;
  service::add_service_commands(registry, {.stop = [impl] { impl->stop_server(); },
                                           .metrics =
                                               [impl] {
                                                 auto m = impl->server ? impl->server->metrics() : Metrics();
                                                 if (impl->management_counters)
                                                   m.management = impl->management_counters();
                                                 return m.to_json();
                                               },
                                           .certificates = impl->certificates.get()});
  registry.add_sync("start", [impl](const json::object& params) { return impl->start(params); });
  registry.add_sync("dnsQueryResult",
                    [impl](const json::object& params) { return impl->query_result(params); });
  registry.add("processPacket", [impl](core::management::Call& call) -> asio::awaitable<json::value> {
    co_return co_await impl->process_packet(call.params());
  });
}

}  // namespace basalt::dns
