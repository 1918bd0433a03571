#include "basalt/dns/client/client.hpp"

#include <netdb.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "basalt/core/encoding.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/http/client.hpp"
#include "client/resolv_conf.hpp"

namespace basalt::dns {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string_view to_string(Strategy s) noexcept {
  switch (s) {
    case Strategy::kSystem:
      return "system";
    case Strategy::kUdp:
      return "udp";
    case Strategy::kDoh:
      return "doh";
    case Strategy::kPreferSystem:
      return "prefer-system";
    case Strategy::kPreferUdp:
      return "prefer-udp";
  }
  return "?";
}

std::optional<Strategy> strategy_from_string(std::string_view t) noexcept {
  for (auto s :
       {Strategy::kSystem, Strategy::kUdp, Strategy::kDoh, Strategy::kPreferSystem, Strategy::kPreferUdp}) {
    if (to_string(s) == t) return s;
  }
  return std::nullopt;
}

std::string_view to_string(UpstreamTransport t) noexcept {
  switch (t) {
    case UpstreamTransport::kSystem:
      return "system";
    case UpstreamTransport::kUdp:
      return "udp";
    case UpstreamTransport::kTcp:
      return "tcp";
    case UpstreamTransport::kDoh:
      return "doh";
  }
  return "?";
}

std::string_view to_string(QueryStatus s) noexcept {
  switch (s) {
    case QueryStatus::kOk:
      return "ok";
    case QueryStatus::kTimeout:
      return "timeout";
    case QueryStatus::kNetworkError:
      return "network error";
    case QueryStatus::kTlsError:
      return "TLS error";
    case QueryStatus::kHttpError:
      return "HTTP error";
    case QueryStatus::kBadResponse:
      return "bad response";
    case QueryStatus::kNotFound:
      return "not found";
    case QueryStatus::kBadQuery:
      return "bad query";
  }
  return "?";
}

namespace {

std::string name_text(const Name& n) {
  std::string s = n.to_string();
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  return s;
}

std::uint16_t random_id() {
  std::uint16_t id = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) {
    // OpenSSL's generator does not fail once seeded; keep a defined fallback.
    static thread_local std::uint16_t counter =
        static_cast<std::uint16_t>(Clock::now().time_since_epoch().count());
    id = ++counter;
  }
  return id;
}

Bytes build_query(const Question& q, std::uint16_t id, const ClientOptions& o) {
  Message m;
  m.header.id = id;
  m.header.rd = o.recursion_desired;
  m.questions.push_back(q);
  Edns edns;
  edns.udp_payload_size = o.udp_payload_size;
  edns.dnssec_ok = o.dnssec_ok;
  m.edns = edns;
  // to_wire() reserves its limit; keep only the octets (this lives as long as
  // the query is in flight).
  Bytes wire = m.to_wire(512);
  return Bytes(wire.begin(), wire.end());
}

// The response answers our query: same ID, a response, same question.
bool answers_query(const MessageView& v, std::uint16_t id, const Question& q) {
  const Header& h = v.header();
  if (!h.qr || h.id != id || h.opcode != Opcode::kQuery || h.qdcount != 1) return false;
  QuestionView qv = v.question();
  if (qv.type != q.type || qv.rclass != q.rclass) return false;
  Name n;
  std::size_t next = 0;
  if (decode_name(v.bytes(), Header::kSize, &n, &next) != WireError::kOk) return false;
  return n == q.name;
}

std::string ms_text(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

Exchange failure(QueryStatus status, std::string server, UpstreamTransport t, std::string error) {
  Exchange ex;
  ex.status = status;
  ex.server = std::move(server);
  ex.transport = t;
  ex.error = std::move(error);
  return ex;
}

}  // namespace

std::string answer_value(RRType type, ByteSpan rdata) {
  switch (type) {
    case RRType::kNS:
    case RRType::kCNAME:
    case RRType::kPTR:
    case RRType::kDNAME:
      if (auto r = rdata::NameTarget::decode(rdata)) return name_text(r->target);
      break;
    case RRType::kMX:
      if (auto r = rdata::MX::decode(rdata))
        return std::to_string(r->preference) + " " + name_text(r->exchange);
      break;
    case RRType::kSRV:
      if (auto r = rdata::SRV::decode(rdata)) {
        std::string s = std::to_string(r->priority);
        s += ' ';
        s += std::to_string(r->weight);
        s += ' ';
        s += std::to_string(r->port);
        s += ' ';
        s += name_text(r->target);
        return s;
      }
      break;
    case RRType::kSOA:
      if (auto r = rdata::SOA::decode(rdata)) {
        std::string s = name_text(r->mname);
        s += ' ';
        s += name_text(r->rname);
        for (auto v : {r->serial, r->refresh, r->retry, r->expire, r->minimum}) {
          s += ' ';
          s += std::to_string(v);
        }
        return s;
      }
      break;
    case RRType::kTXT:
    case RRType::kSPF:
      if (auto r = rdata::TXT::decode(rdata)) {
        std::string s;
        for (const auto& part : r->strings) s += part;
        return s;
      }
      break;
    default:
      break;
  }
  return rdata_to_text(type, rdata);
}

std::vector<Answer> answers_of(const Message& response, std::optional<RRType> type) {
  std::vector<Answer> out;
  for (const Record& r : response.answers) {
    if (type && r.type != *type) continue;
    Answer a;
    a.name = name_text(r.owner);
    a.type = r.type;
    a.ttl = r.ttl;
    a.value = answer_value(r.type, r.rdata);
    a.dnssec_enabled = response.header.ad;
    a.record = r;
    out.push_back(std::move(a));
  }
  return out;
}

struct Client::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  ClientOptions options;
  std::unique_ptr<http::Client> http;

  Impl(asio::io_context& ctx, ClientOptions o) : io(ctx), options(std::move(o)) {
    if (options.timeout.count() <= 0) throw std::invalid_argument("timeout must be positive");
    if (options.attempt_timeout.count() <= 0) options.attempt_timeout = options.timeout;
    if (options.retries < 0) throw std::invalid_argument("retries must not be negative");
    bool needs_udp = options.strategy == Strategy::kUdp || options.strategy == Strategy::kPreferUdp;
    bool needs_doh = options.strategy == Strategy::kDoh || options.strategy == Strategy::kPreferUdp ||
                     (options.strategy == Strategy::kPreferSystem && options.allow_doh_fallback);
    if (needs_udp && options.udp_upstreams.empty()) throw std::invalid_argument("no UDP upstream configured");
    if (needs_doh && options.doh_urls.empty()) throw std::invalid_argument("no DoH URL configured");
    for (const auto& url : options.doh_urls) {
      if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        throw std::invalid_argument("DoH URL \"" + url + "\" is not an http(s) URL");
      }
    }
    if (!options.doh_urls.empty()) {
      http::ClientOptions ho;
      ho.tls.ca = options.ca_file;
      ho.request_timeout = options.attempt_timeout;
      ho.connect_timeout = options.attempt_timeout;
      http = std::make_unique<http::Client>(io, ho);  // throws std::invalid_argument for a bad CA
    }
  }

  // Races `op` against the deadline; on expiry `op` is cancelled.
  asio::awaitable<Exchange> with_deadline(asio::awaitable<Exchange> op, Clock::time_point deadline,
                                          Exchange on_timeout) {
    asio::steady_timer timer(io, deadline);
    auto r = co_await (std::move(op) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (r.index() == 0) co_return std::get<0>(std::move(r));
    co_return on_timeout;
  }

  asio::awaitable<Exchange> udp_attempt(core::Endpoint ep, const Bytes& query, std::uint16_t id,
                                        const Question& q, std::size_t* ignored) {
    Exchange ex;
    ex.server = ep.to_string();
    ex.transport = UpstreamTransport::kUdp;
    auto aep = core::to_asio<asio::ip::udp>(ep);
    asio::ip::udp::socket sock(io);
    boost::system::error_code ec;
    sock.open(aep.protocol(), ec);
    // connect() binds a kernel-chosen random port and makes the kernel drop
    // datagrams from any other source address and port.
    if (!ec) sock.connect(aep, ec);
    if (!ec) co_await sock.async_send(asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      ex.status = QueryStatus::kNetworkError;
      ex.error = ex.server + ": " + ec.message();
      co_return ex;
    }
    std::vector<std::uint8_t> buf(std::max<std::size_t>(options.udp_payload_size, 512) + 1);
    for (;;) {
      std::size_t n =
          co_await sock.async_receive(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        ex.status = QueryStatus::kNetworkError;
        ex.error = ex.server + ": " + ec.message();
        co_return ex;
      }
      MessageView v;
      if (n > options.udp_payload_size && n > 512) {
        ++*ignored;  // larger than we allow: not an answer to this query
        continue;
      }
      if (v.parse({buf.data(), n}) != WireError::kOk || !answers_query(v, id, q)) {
        ++*ignored;
        continue;
      }
      ex.response = Message::from_view(v);
      ex.status = QueryStatus::kOk;
      co_return ex;
    }
  }

  asio::awaitable<Exchange> tcp_attempt(core::Endpoint ep, const Bytes& query, std::uint16_t id,
                                        const Question& q, std::size_t* ignored) {
    Exchange ex;
    ex.server = ep.to_string();
    ex.transport = UpstreamTransport::kTcp;
    asio::ip::tcp::socket sock(io);
    boost::system::error_code ec;
    co_await sock.async_connect(core::to_asio<asio::ip::tcp>(ep),
                                asio::redirect_error(asio::use_awaitable, ec));
    std::uint8_t len[2] = {static_cast<std::uint8_t>(query.size() >> 8),
                           static_cast<std::uint8_t>(query.size())};
    if (!ec) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(len), asio::buffer(query)};
      co_await asio::async_write(sock, bufs, asio::redirect_error(asio::use_awaitable, ec));
    }
    std::vector<std::uint8_t> buf;
    while (!ec) {
      co_await asio::async_read(sock, asio::buffer(len), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      buf.resize(static_cast<std::size_t>((len[0] << 8) | len[1]));
      co_await asio::async_read(sock, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      MessageView v;
      if (v.parse(buf) != WireError::kOk || !answers_query(v, id, q)) {
        ++*ignored;
        continue;
      }
      ex.response = Message::from_view(v);
      ex.status = QueryStatus::kOk;
      co_return ex;
    }
    ex.status = QueryStatus::kNetworkError;
    ex.error =
        ex.server + " (tcp): " + (ec == asio::error::eof ? std::string("connection closed") : ec.message());
    co_return ex;
  }

  // One attempt at one DNS upstream: UDP, then TCP when the answer is truncated.
  asio::awaitable<Exchange> dns_attempt(const core::Endpoint& ep, const Question& q, bool tcp,
                                        Clock::time_point deadline) {
    std::uint16_t id = random_id();
    Bytes query = build_query(q, id, options);
    auto timeout_text = [&](Clock::time_point start, std::string_view how) {
      auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      std::string e = ep.to_string();
      e += how;
      e += ": timed out after ";
      e += ms_text(ms);
      return e;
    };
    auto start = Clock::now();
    std::size_t ignored = 0;  // survives the cancellation of an attempt
    if (!tcp) {
      Exchange ex =
          co_await with_deadline(udp_attempt(ep, query, id, q, &ignored), deadline,
                                 failure(QueryStatus::kTimeout, ep.to_string(), UpstreamTransport::kUdp, {}));
      if (ex.status == QueryStatus::kTimeout) ex.error = timeout_text(start, "");
      ex.ignored = ignored;
      if (!ex || !ex.response.header.tc) co_return ex;
      // Truncated: the same question again over TCP, with a fresh ID.
      start = Clock::now();
      id = random_id();
      query = build_query(q, id, options);
    }
    Exchange ex =
        co_await with_deadline(tcp_attempt(ep, query, id, q, &ignored), deadline,
                               failure(QueryStatus::kTimeout, ep.to_string(), UpstreamTransport::kTcp, {}));
    if (ex.status == QueryStatus::kTimeout) ex.error = timeout_text(start, " (tcp)");
    ex.ignored = ignored;
    co_return ex;
  }

  asio::awaitable<Exchange> doh_attempt(const std::string& url, const Question& q,
                                        Clock::time_point deadline) {
    Exchange ex;
    ex.server = url;
    ex.transport = UpstreamTransport::kDoh;
    // RFC 8484 §4.1: ID 0 keeps responses cacheable by HTTP caches.
    Bytes query = build_query(q, 0, options);
    http::ClientRequest req;
    req.headers.set("accept", "application/dns-message");
    if (options.doh_get) {
      req.method = "GET";
      req.url = url;
      req.url += url.find('?') == std::string::npos ? "?dns=" : "&dns=";
      req.url += core::base64url_encode(query);
    } else {
      req.method = "POST";
      req.url = url;
      req.headers.set("content-type", "application/dns-message");
      req.body.assign(query.begin(), query.end());
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    req.timeout = std::max(left, milliseconds(1));
    http::ClientResult r = co_await http->request(req);
    if (!r) {
      ex.status = r.error == http::ClientError::kTlsFailed ? QueryStatus::kTlsError
                  : r.error == http::ClientError::kTimeout ? QueryStatus::kTimeout
                                                           : QueryStatus::kNetworkError;
      ex.error = url + ": " + r.error.message();
      if (!r.detail.empty()) ex.error += " (" + r.detail + ")";
      co_return ex;
    }
    ex.http_version = std::string(http::to_string(r.version));
    if (r.response.status != 200) {
      ex.status = QueryStatus::kHttpError;
      ex.error = url + ": HTTP status " + std::to_string(r.response.status);
      co_return ex;
    }
    auto ct = r.response.headers.get("content-type");
    if (!ct || ct->substr(0, 23) != "application/dns-message") {
      ex.status = QueryStatus::kHttpError;
      ex.error = url + ": content-type is not application/dns-message";
      co_return ex;
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>(r.response.body.data());
    MessageView v;
    if (v.parse({p, r.response.body.size()}) != WireError::kOk || !answers_query(v, 0, q)) {
      ex.status = QueryStatus::kBadResponse;
      ex.error = url + ": the response is not an answer to the query";
      ex.ignored = 1;
      co_return ex;
    }
    ex.response = Message::from_view(v);
    ex.status = QueryStatus::kOk;
    co_return ex;
  }

  // Tries every upstream in order, `retries` more rounds with backoff, within
  // the query's whole timeout. `kind` selects UDP/TCP upstreams or DoH URLs.
  asio::awaitable<Exchange> with_failover(const Question& q, UpstreamTransport kind,
                                          const std::vector<core::Endpoint>& servers) {
    auto start = Clock::now();
    auto deadline = start + options.timeout;
    milliseconds backoff = options.backoff;
    std::size_t count = kind == UpstreamTransport::kDoh ? options.doh_urls.size() : servers.size();
    std::size_t ignored = 0;
    Exchange last = failure(QueryStatus::kNetworkError, "", kind, "no upstream configured");
    std::optional<Exchange> last_response;
    for (int round = 0; round <= options.retries; ++round) {
      for (std::size_t i = 0; i < count; ++i) {
        auto now = Clock::now();
        if (now >= deadline) break;
        auto attempt_deadline = std::min(now + options.attempt_timeout, deadline);
        Exchange ex;
        if (kind == UpstreamTransport::kDoh) {
          ex = co_await doh_attempt(options.doh_urls[i], q, attempt_deadline);
        } else {
          ex = co_await dns_attempt(servers[i], q, kind == UpstreamTransport::kTcp, attempt_deadline);
        }
        ignored += ex.ignored;
        if (ex) {
          auto rc = ex.response.rcode();
          bool retryable = rc == static_cast<std::uint16_t>(Rcode::kServFail) ||
                           rc == static_cast<std::uint16_t>(Rcode::kRefused);
          if (!retryable || i + 1 == count) {
            ex.ignored = ignored;
            ex.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
            co_return ex;
          }
          last_response = std::move(ex);  // another upstream may do better
          continue;
        }
        last = std::move(ex);
      }
      if (last_response) break;
      if (round < options.retries && Clock::now() + backoff < deadline) {
        asio::steady_timer t(io, backoff);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff *= 2;
      }
    }
    Exchange out = last_response ? std::move(*last_response) : std::move(last);
    if (!out && ignored > 0 && out.status == QueryStatus::kTimeout) {
      out.error += " (" + std::to_string(ignored) + " mismatched answers ignored)";
    }
    out.ignored = ignored;
    out.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    co_return out;
  }

  // getaddrinfo on its own thread (it blocks); the query waits for it or the deadline.
  struct GaiState {
    std::mutex mutex;
    bool done = false;
    int rc = 0;
    std::vector<core::IpAddress> addresses;
  };

  asio::awaitable<Exchange> system_addresses(const Question& q) {
    auto start = Clock::now();
    auto state = std::make_shared<GaiState>();
    auto timer = std::make_shared<asio::steady_timer>(io, start + options.timeout);
    std::string host = name_text(q.name);
    int family = q.type == RRType::kA ? AF_INET : AF_INET6;
    auto work = asio::make_work_guard(io);
    // The thread holds the timer weakly: its last owner must be the query on
    // the io_context's thread, never this thread after the io_context is gone.
    std::thread([state, weak_timer = std::weak_ptr(timer), host, family, work = std::move(work)]() mutable {
      addrinfo hints{};
      hints.ai_family = family;
      hints.ai_socktype = SOCK_DGRAM;
      addrinfo* res = nullptr;
      int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
      std::vector<core::IpAddress> addrs;
      for (auto* ai = res; rc == 0 && ai; ai = ai->ai_next) {
        if (auto ep = core::Endpoint::from_sockaddr(ai->ai_addr, ai->ai_addrlen)) {
          if (std::find(addrs.begin(), addrs.end(), ep->address) == addrs.end()) addrs.push_back(ep->address);
        }
      }
      if (res) ::freeaddrinfo(res);
      {
        std::lock_guard lock(state->mutex);
        state->done = true;
        state->rc = rc;
        state->addresses = std::move(addrs);
      }
      asio::post(work.get_executor(), [weak_timer] {
        if (auto timer = weak_timer.lock()) timer->cancel();
      });
      work.reset();
    }).detach();
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    Exchange ex;
    ex.server = "system";
    ex.transport = UpstreamTransport::kSystem;
    ex.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    std::lock_guard lock(state->mutex);
    if (!state->done) {
      ex.status = QueryStatus::kTimeout;
      ex.error = "system resolver: timed out after " + ms_text(options.timeout);
      co_return ex;
    }
    ex.response.header.qr = true;
    ex.response.header.rd = true;
    ex.response.header.ra = true;
    ex.response.questions.push_back(q);
    if (state->rc == EAI_NONAME
#ifdef EAI_NODATA
        || state->rc == EAI_NODATA
#endif
    ) {
      ex.status = QueryStatus::kOk;
      ex.response.set_rcode(static_cast<std::uint16_t>(Rcode::kNXDomain));
      co_return ex;
    }
    if (state->rc != 0) {
      ex.status = state->rc == EAI_AGAIN ? QueryStatus::kTimeout : QueryStatus::kNetworkError;
      ex.error = std::string("system resolver: ") + ::gai_strerror(state->rc);
      co_return ex;
    }
    ex.status = QueryStatus::kOk;
    for (const auto& a : state->addresses) {
      Record r;
      r.owner = q.name;
      r.type = q.type;
      r.ttl = 0;  // getaddrinfo does not tell
      if (a.family() == core::IpAddress::Family::kV4) {
        rdata::A rd;
        std::copy_n(a.bytes().begin(), 4, rd.address.begin());
        r.rdata = rd.encode();
      } else {
        rdata::AAAA rd;
        std::copy_n(a.bytes().begin(), 16, rd.address.begin());
        r.rdata = rd.encode();
      }
      ex.response.answers.push_back(std::move(r));
    }
    co_return ex;
  }

  asio::awaitable<Exchange> system_exchange(const Question& q) {
    if (q.type == RRType::kA || q.type == RRType::kAAAA) co_return co_await system_addresses(q);
    std::ifstream in(options.resolv_conf);
    if (!in) {
      co_return failure(QueryStatus::kNetworkError, "system", UpstreamTransport::kSystem,
                        "cannot read " + options.resolv_conf);
    }
    std::stringstream text;
    text << in.rdbuf();
    std::vector<core::Endpoint> servers;
    for (const auto& addr : client_detail::parse_resolv_conf(text.str())) servers.push_back({addr, 53});
    if (servers.empty()) {
      co_return failure(QueryStatus::kNetworkError, "system", UpstreamTransport::kSystem,
                        options.resolv_conf + " names no nameserver");
    }
    co_return co_await with_failover(q, options.tcp_only ? UpstreamTransport::kTcp : UpstreamTransport::kUdp,
                                     servers);
  }

  asio::awaitable<Exchange> exchange(const Question& q, UpstreamTransport t) {
    switch (t) {
      case UpstreamTransport::kSystem:
        co_return co_await system_exchange(q);
      case UpstreamTransport::kDoh:
        if (!http) co_return failure(QueryStatus::kNetworkError, "", t, "no DoH URL configured");
        co_return co_await with_failover(q, t, {});
      case UpstreamTransport::kUdp:
      case UpstreamTransport::kTcp:
        co_return co_await with_failover(q, options.tcp_only ? UpstreamTransport::kTcp : t,
                                         options.udp_upstreams);
    }
    co_return failure(QueryStatus::kBadQuery, "", t, "unknown transport");
  }

  static QueryResult to_result(Exchange ex, RRType type) {
    QueryResult r;
    r.status = ex.status;
    r.error = std::move(ex.error);
    r.server = std::move(ex.server);
    r.transport = ex.transport;
    if (r) {
      r.rcode = ex.response.rcode();
      r.ad = ex.response.header.ad;
      r.answers = answers_of(ex.response, type);
    }
    return r;
  }

  asio::awaitable<QueryResult> query(std::string_view name, RRType type, Strategy strategy) {
    std::string_view err;
    auto n = Name::from_text(name, nullptr, &err);
    if (!n) {
      QueryResult r;
      r.status = QueryStatus::kBadQuery;
      r.error = std::string("\"") + std::string(name) + "\" is not a domain name: " + std::string(err);
      co_return r;
    }
    Question q{*n, type, RRClass::kIN};
    switch (strategy) {
      case Strategy::kSystem:
        co_return to_result(co_await exchange(q, UpstreamTransport::kSystem), type);
      case Strategy::kUdp:
        co_return to_result(co_await exchange(q, UpstreamTransport::kUdp), type);
      case Strategy::kDoh:
        co_return to_result(co_await exchange(q, UpstreamTransport::kDoh), type);
      case Strategy::kPreferSystem: {
        QueryResult sys = to_result(co_await exchange(q, UpstreamTransport::kSystem), type);
        if ((sys && !sys.answers.empty()) || !options.allow_doh_fallback || !http) co_return sys;
        co_return to_result(co_await exchange(q, UpstreamTransport::kDoh), type);
      }
      case Strategy::kPreferUdp: {
        QueryResult udp = to_result(co_await exchange(q, UpstreamTransport::kUdp), type);
        if ((udp && !udp.answers.empty()) || !http) co_return udp;
        co_return to_result(co_await exchange(q, UpstreamTransport::kDoh), type);
      }
    }
    co_return QueryResult{};
  }
};

Client::Client(asio::io_context& io, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}
Client::~Client() = default;

const ClientOptions& Client::options() const noexcept {
  return impl_->options;
}

asio::awaitable<QueryResult> Client::query(std::string_view name, RRType type) {
  return query(name, type, impl_->options.strategy);
}

namespace {
// The public functions copy their arguments at the call (asio awaitables
// start lazily, so a caller's string_view may be gone by then).
asio::awaitable<QueryResult> run_query(std::shared_ptr<Client::Impl> impl, std::string name, RRType type,
                                       Strategy strategy) {
  co_return co_await impl->query(name, type, strategy);
}

asio::awaitable<std::vector<std::string>> run_name_servers(std::shared_ptr<Client::Impl> impl,
                                                           std::string domain) {
  auto r = co_await impl->query(domain, RRType::kNS, impl->options.strategy);
  std::vector<std::string> out;
  for (auto& a : r.answers) out.push_back(std::move(a.value));
  co_return out;
}

asio::awaitable<Exchange> run_exchange(std::shared_ptr<Client::Impl> impl, std::string name, RRType type,
                                       UpstreamTransport transport) {
  std::string_view err;
  auto n = Name::from_text(name, nullptr, &err);
  if (!n) {
    co_return failure(QueryStatus::kBadQuery, "", transport,
                      "\"" + name + "\" is not a domain name: " + std::string(err));
  }
  co_return co_await impl->exchange(Question{*n, type, RRClass::kIN}, transport);
}

asio::awaitable<bool> run_check(std::shared_ptr<Client::Impl> impl, std::string name, RRType type,
                                std::string expected, int cycles, milliseconds interval) {
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    // Odd cycles ask the system resolver, even ones the configured strategy.
    Strategy s = cycle % 2 == 1 ? Strategy::kSystem : impl->options.strategy;
    QueryResult r = co_await impl->query(name, type, s);
    for (const auto& a : r.answers) {
      if (a.value == expected) co_return true;
    }
    if (cycle < cycles) {
      asio::steady_timer t(impl->io, interval);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  co_return false;
}
}  // namespace

asio::awaitable<QueryResult> Client::query(std::string_view name, RRType type, Strategy strategy) {
  return run_query(impl_, std::string(name), type, strategy);
}

asio::awaitable<std::vector<std::string>> Client::name_servers(std::string_view domain) {
  return run_name_servers(impl_, std::string(domain));
}

asio::awaitable<Exchange> Client::exchange(std::string_view name, RRType type, UpstreamTransport transport) {
  return run_exchange(impl_, std::string(name), type, transport);
}

asio::awaitable<bool> Client::check_until_available(std::string_view name, RRType type,
                                                    std::string expected_value, int cycles,
                                                    milliseconds interval) {
  return run_check(impl_, std::string(name), type, std::move(expected_value), cycles, interval);
}

void Client::close() {
  if (impl_->http) impl_->http->close();
}

std::size_t Client::doh_connections_opened() const noexcept {
  return impl_->http ? impl_->http->connections_opened() : 0;
}

struct BlockingClient::Impl {
  asio::io_context io;
  Client client;
  explicit Impl(ClientOptions o) : client(io, std::move(o)) {}

  template <typename T>
  T run(asio::awaitable<T> op) {
    auto future = asio::co_spawn(io, std::move(op), asio::use_future);
    // Run until this call is done; other work (idle DoH connections) stays pending.
    while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (io.run_one() == 0) io.restart();
    }
    return future.get();
  }
};

BlockingClient::BlockingClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
BlockingClient::~BlockingClient() {
  // Let pooled DoH connections close on the io_context before it goes away.
  impl_->client.close();
  impl_->io.restart();
  impl_->io.run_for(std::chrono::milliseconds(500));
}

QueryResult BlockingClient::query(std::string_view name, RRType type) {
  return impl_->run(impl_->client.query(name, type));
}
QueryResult BlockingClient::query(std::string_view name, RRType type, Strategy strategy) {
  return impl_->run(impl_->client.query(name, type, strategy));
}
Exchange BlockingClient::exchange(std::string_view name, RRType type, UpstreamTransport transport) {
  return impl_->run(impl_->client.exchange(name, type, transport));
}
std::vector<std::string> BlockingClient::name_servers(std::string_view domain) {
  return impl_->run(impl_->client.name_servers(domain));
}
bool BlockingClient::check_until_available(std::string_view name, RRType type, std::string expected_value,
                                           int cycles, milliseconds interval) {
  return impl_->run(
      impl_->client.check_until_available(name, type, std::move(expected_value), cycles, interval));
}
Client& BlockingClient::async() noexcept {
  return impl_->client;
}

}  // namespace basalt::dns
