// basalt-dns query NAME [TYPE] [@SERVER[:PORT]] [--tcp] [--doh URL] [--ca-file FILE]
//                  [--dnssec] [--json] [--timeout MS]
//
// A dig-like lookup through dns::Client. Without @SERVER or --doh the system
// resolver answers (getaddrinfo for A/AAAA, resolv.conf nameservers for the
// rest). Exit status: 0 when a response arrived (whatever its RCODE), 1 when
// none did (the reason on stderr), 2 for bad usage.
#include <boost/json.hpp>

#include <iostream>

#include "basalt/dns/client/client.hpp"
#include "commands.hpp"

namespace basalt::apps {

namespace json = boost::json;

namespace {

std::string owner_text(const dns::Name& n) {
  std::string s = n.to_string();
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  return s;
}

std::vector<std::string> flag_names(const dns::Header& h) {
  std::vector<std::string> f;
  if (h.qr) f.emplace_back("qr");
  if (h.aa) f.emplace_back("aa");
  if (h.tc) f.emplace_back("tc");
  if (h.rd) f.emplace_back("rd");
  if (h.ra) f.emplace_back("ra");
  if (h.ad) f.emplace_back("ad");
  if (h.cd) f.emplace_back("cd");
  return f;
}

json::array records_json(const std::vector<dns::Record>& rs) {
  json::array out;
  for (const auto& r : rs) {
    out.push_back(json::object{{"name", owner_text(r.owner)},
                               {"type", dns::to_string(r.type)},
                               {"ttl", r.ttl},
                               {"value", dns::answer_value(r.type, r.rdata)}});
  }
  return out;
}

std::string transport_text(const dns::Exchange& ex) {
  std::string t(dns::to_string(ex.transport));
  if (!ex.http_version.empty()) {
    t += ", ";
    t += ex.http_version;
  }
  return t;
}

void print_text(const QueryFlags& flags, const dns::Exchange& ex) {
  const dns::Message& m = ex.response;
  std::string out = "; <<>> basalt-dns query <<>> " + flags.args.front();
  for (std::size_t i = 1; i < flags.args.size(); ++i) out += " " + flags.args[i];
  out += "\n;; ->>HEADER<<- opcode: " + dns::to_string(m.header.opcode);
  out += ", status: " + dns::to_string(static_cast<dns::Rcode>(m.rcode()));
  out += ", id: " + std::to_string(m.header.id) + "\n;; flags:";
  for (const auto& f : flag_names(m.header)) out += " " + f;
  out += "; QUERY: " + std::to_string(m.questions.size());
  out += ", ANSWER: " + std::to_string(m.answers.size());
  out += ", AUTHORITY: " + std::to_string(m.authority.size());
  out += ", ADDITIONAL: " + std::to_string(m.additional.size() + (m.edns ? 1 : 0)) + "\n";
  if (m.edns) {
    out += "\n;; OPT PSEUDOSECTION:\n; EDNS: version: " + std::to_string(m.edns->version) + ", flags:";
    if (m.edns->dnssec_ok) out += " do";
    out += "; udp: " + std::to_string(m.edns->udp_payload_size) + "\n";
  }
  out += "\n;; QUESTION SECTION:\n";
  for (const auto& q : m.questions) out += ";" + q.to_text() + "\n";
  auto section = [&](const char* title, const std::vector<dns::Record>& rs) {
    if (rs.empty()) return;
    out += "\n;; ";
    out += title;
    out += " SECTION:\n";
    for (const auto& r : rs) out += r.to_text() + "\n";
  };
  section("ANSWER", m.answers);
  section("AUTHORITY", m.authority);
  section("ADDITIONAL", m.additional);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ex.duration).count();
  out += "\n;; Query time: " + std::to_string(ms) + " msec\n";
  out += ";; SERVER: " + ex.server + " (" + transport_text(ex) + ")\n";
  std::cout << out << std::flush;
}

void print_json(const dns::Exchange& ex) {
  const dns::Message& m = ex.response;
  json::array flags;
  for (const auto& f : flag_names(m.header)) flags.emplace_back(f);
  json::object o{{"server", ex.server},
                 {"transport", transport_text(ex)},
                 {"rcode", dns::to_string(static_cast<dns::Rcode>(m.rcode()))},
                 {"flags", std::move(flags)},
                 {"answers", records_json(m.answers)},
                 {"authority", records_json(m.authority)},
                 {"additional", records_json(m.additional)},
                 {"adFlag", m.header.ad},
                 {"durationMs", (ex.duration.count() + 500) / 1000}};  // whole ms, as dig prints them
  std::cout << json::serialize(o) << "\n" << std::flush;
}

}  // namespace

void add_query_command(CLI::App& app, QueryFlags& flags, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("query", "look a name up (dig-like): NAME [TYPE] [@SERVER[:PORT]]");
  cmd->add_option("args", flags.args, "NAME [TYPE] [@SERVER[:PORT]] (IPv6 as @[::1]:5353)")->required();
  cmd->add_flag("--tcp", flags.tcp, "query over TCP");
  cmd->add_option("--doh", flags.doh_url, "DNS-over-HTTPS URL (RFC 8484)");
  cmd->add_option("--ca-file", flags.ca_file, "CA certificates (PEM) to verify the DoH server");
  cmd->add_flag("--doh-get", flags.doh_get, "DoH with GET instead of POST");
  cmd->add_flag("--dnssec", flags.dnssec, "set the DO bit");
  cmd->add_flag("--json", flags.json, "print one JSON object");
  cmd->add_option("--timeout", flags.timeout_ms, "milliseconds to wait for a response")
      ->check(CLI::Range(1, 600000));
  cmd->callback([&flags, &action] { action = [&flags] { return query(flags); }; });
}

int query(const QueryFlags& flags) {
  std::string name;
  std::string type_text = "A";
  std::optional<core::Endpoint> server;
  int positional = 0;
  for (const auto& a : flags.args) {
    if (!a.empty() && a[0] == '@') {
      std::string err;
      auto ep = core::Endpoint::parse(std::string_view(a).substr(1), &err, {.default_port = 53});
      if (!ep) {
        std::cerr << "basalt-dns query: server \"" << a.substr(1) << "\" " << err << "\n";
        return 2;
      }
      server = *ep;
    } else if (positional == 0) {
      name = a;
      ++positional;
    } else if (positional == 1) {
      type_text = a;
      ++positional;
    } else {
      std::cerr << "basalt-dns query: unexpected argument \"" << a << "\"\n";
      return 2;
    }
  }
  auto type = dns::rr_type_from_string(type_text);
  if (name.empty() || !type) {
    std::cerr << "basalt-dns query: "
              << (name.empty() ? std::string("NAME is required")
                               : "\"" + type_text + "\" is not a record type")
              << "\n";
    return 2;
  }
  if (server && !flags.doh_url.empty()) {
    std::cerr << "basalt-dns query: give either @SERVER or --doh, not both\n";
    return 2;
  }
  dns::ClientOptions o;
  o.timeout = std::chrono::milliseconds(flags.timeout_ms);
  o.attempt_timeout = o.timeout;
  o.retries = 0;
  o.dnssec_ok = flags.dnssec;
  o.tcp_only = flags.tcp;
  o.ca_file = flags.ca_file;
  o.doh_get = flags.doh_get;
  o.strategy = dns::Strategy::kSystem;
  o.udp_upstreams = server ? std::vector<core::Endpoint>{*server} : std::vector<core::Endpoint>{};
  o.doh_urls = flags.doh_url.empty() ? std::vector<std::string>{} : std::vector<std::string>{flags.doh_url};
  auto transport = !flags.doh_url.empty() ? dns::UpstreamTransport::kDoh
                   : server ? (flags.tcp ? dns::UpstreamTransport::kTcp : dns::UpstreamTransport::kUdp)
                            : dns::UpstreamTransport::kSystem;
  std::optional<dns::BlockingClient> client;
  try {
    client.emplace(o);
  } catch (const std::invalid_argument& e) {
    std::cerr << "basalt-dns query: " << e.what() << "\n";
    return 2;
  }
  dns::Exchange ex = client->exchange(name, *type, transport);
  if (ex.status == dns::QueryStatus::kBadQuery) {
    std::cerr << "basalt-dns query: " << ex.error << "\n";
    return 2;
  }
  if (!ex) {
    std::cerr << "basalt-dns query: no response: " << ex.error << "\n";
    return 1;
  }
  if (flags.json) {
    print_json(ex);
  } else {
    print_text(flags, ex);
  }
  return 0;
}

}  // namespace basalt::apps
