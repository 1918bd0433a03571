#include "basalt/dns/client/engine_commands.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>

#include "basalt/dns/client/client.hpp"

namespace basalt::dns {

namespace asio = boost::asio;
namespace json = boost::json;

ClientEngineDefaults ClientEngineDefaults::from_environment() {
  ClientEngineDefaults d;
  if (const char* v = std::getenv("BASALT_DNS_UDP_UPSTREAM"); v && *v) {
    std::string err;
    auto ep = core::Endpoint::parse(v, &err, {.default_port = 53});
    if (ep) {
      d.udp_upstream = *ep;
    } else {
      d.udp_upstream_error = std::string("BASALT_DNS_UDP_UPSTREAM: \"") + v + "\" " + err;
    }
  }
  if (const char* v = std::getenv("BASALT_DNS_DOH_URL"); v && *v) d.doh_url = v;
  if (const char* v = std::getenv("BASALT_DNS_CA_FILE"); v && *v) d.ca_file = v;
  return d;
}

namespace {

struct EngineState {
  ClientEngineDefaults defaults;
  // Clients by (protocol, upstream, timeout), so DoH connections are reused.
  std::map<std::string, std::unique_ptr<Client>> clients;
};

std::string string_param(const json::object& p, std::string_view key, bool required) {
  auto it = p.find(key);
  if (it == p.end() || it->value().is_null()) {
    if (required) throw std::invalid_argument("params." + std::string(key) + " is required");
    return {};
  }
  if (!it->value().is_string())
    throw std::invalid_argument("params." + std::string(key) + " must be a string");
  return std::string(it->value().get_string());
}

asio::awaitable<json::value> resolve(std::shared_ptr<EngineState> state, json::object params) {
  // Validate everything before any query.
  std::string name = string_param(params, "name", true);
  std::string type_text = string_param(params, "recordType", true);
  std::string protocol = string_param(params, "protocol", true);
  std::string server = string_param(params, "serverAddr", false);
  std::string url = string_param(params, "dohUrl", false);
  auto type = rr_type_from_string(type_text);
  if (!type) throw std::invalid_argument("params.recordType: \"" + type_text + "\" is not a record type");
  if (protocol != "udp" && protocol != "doh") {
    throw std::invalid_argument("params.protocol: \"" + protocol + "\" is not one of udp, doh");
  }
  std::chrono::milliseconds timeout{5'000};
  if (auto it = params.find("timeoutMs"); it != params.end() && !it->value().is_null()) {
    auto ms = it->value().if_int64()    ? *it->value().if_int64()
              : it->value().if_uint64() ? static_cast<std::int64_t>(*it->value().if_uint64())
              : it->value().if_double() ? static_cast<std::int64_t>(*it->value().if_double())
                                        : -1;
    if (ms <= 0 || ms > 600'000) throw std::invalid_argument("params.timeoutMs must be between 1 and 600000");
    timeout = std::chrono::milliseconds(ms);
  }

  ClientOptions o;
  o.strategy = protocol == "udp" ? Strategy::kUdp : Strategy::kDoh;
  o.timeout = timeout;
  o.attempt_timeout = std::min(o.attempt_timeout, timeout);
  if (!server.empty()) {
    std::string err;
    auto ep = core::Endpoint::parse(server, &err, {.default_port = 53});
    if (!ep) throw std::invalid_argument("params.serverAddr: \"" + server + "\" " + err);
    o.udp_upstreams = {*ep};
  } else if (protocol == "udp" && !state->defaults.udp_upstream_error.empty()) {
    throw std::invalid_argument(state->defaults.udp_upstream_error);
  } else if (state->defaults.udp_upstream) {
    o.udp_upstreams = {*state->defaults.udp_upstream};
  }
  if (!url.empty()) {
    o.doh_urls = {url};
  } else if (!state->defaults.doh_url.empty()) {
    o.doh_urls = {state->defaults.doh_url};
  }
  o.ca_file = state->defaults.ca_file;
  std::string key = protocol;
  key += '|';
  key += protocol == "udp" ? o.udp_upstreams.at(0).to_string() : o.doh_urls.at(0);
  key += '|';
  key += std::to_string(timeout.count());

  auto& slot = state->clients[key];
  if (!slot) {
    auto exec = co_await asio::this_coro::executor;
    auto& io = static_cast<asio::io_context&>(asio::query(exec, asio::execution::context));
    try {
      slot = std::make_unique<Client>(io, o);
    } catch (...) {
      state->clients.erase(key);
      throw;
    }
  }
  QueryResult r = co_await slot->query(name, *type);
  if (!r) throw std::runtime_error(r.error.empty() ? std::string(to_string(r.status)) : r.error);
  json::array answers;
  for (const auto& a : r.answers) {
    answers.push_back(
        json::object{{"name", a.name}, {"type", to_string(a.type)}, {"ttl", a.ttl}, {"value", a.value}});
  }
  co_return json::object{{"answers", std::move(answers)}, {"adFlag", r.ad}, {"rcode", r.rcode}};
}

}  // namespace

void add_client_engine_commands(core::management::Registry& registry, ClientEngineDefaults defaults) {
  auto state = std::make_shared<EngineState>();
  state->defaults = std::move(defaults);
  registry.add("resolve", [state](core::management::Call& call) -> asio::awaitable<json::value> {
    return resolve(state, call.params());
  });
}

}  // namespace basalt::dns
