// A DNS resolver client with resolution strategies: the system resolver,
// plain DNS over UDP (TCP when truncated), DNS over HTTPS (RFC 8484), and the
// "prefer" combinations of smartdns (`prefer-system`, `prefer-udp`).
//
// Use it to look records up from C++ (propagation checks, ACME DNS-01,
// tools); `basalt-dns query` and the management client engine sit on it.
//
//   dns::Client client(io, {.strategy = dns::Strategy::kUdp,
//                           .udp_upstreams = {*core::Endpoint::parse("127.0.0.1:5353")}});
//   auto r = co_await client.query("www.example.test", dns::RRType::kA);
//   if (!r) log(r.error); else for (auto& a : r.answers) use(a.value);
//
// Every answer is checked before it is believed: random query ID and source
// port, the answer must come from the upstream asked (connected socket), carry
// the query's ID and echo its question, else it is ignored and the client
// keeps waiting until the attempt's deadline. Expected failures (timeouts,
// refused connections, TLS or HTTP errors, malformed answers) come back in
// the result; nothing on the query path throws for them.
//
// Thread-safety: a Client belongs to one io_context and is used from that
// context's thread only. Lifetime: the io_context outlives the Client, and
// queries must have finished before the Client is destroyed. BlockingClient
// wraps a Client with its own io_context for synchronous callers.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/record.hpp"
#include "basalt/dns/wire/rr_type.hpp"

namespace boost::asio {
class io_context;
}

namespace basalt::dns {

enum class Strategy : std::uint8_t {
  kSystem,        // getaddrinfo for A/AAAA, resolv.conf nameservers for the rest
  kUdp,           // UDP upstreams (TCP when truncated)
  kDoh,           // DoH upstreams
  kPreferSystem,  // system first; DoH when it fails or finds nothing (allow_doh_fallback)
  kPreferUdp,     // UDP first; DoH when it fails or finds nothing
};
// "system", "udp", "doh", "prefer-system", "prefer-udp".
std::string_view to_string(Strategy strategy) noexcept;
std::optional<Strategy> strategy_from_string(std::string_view text) noexcept;

enum class UpstreamTransport : std::uint8_t { kSystem, kUdp, kTcp, kDoh };
// "system", "udp", "tcp", "doh".
std::string_view to_string(UpstreamTransport transport) noexcept;

struct ClientOptions {
  Strategy strategy = Strategy::kPreferSystem;
  bool allow_doh_fallback = true;
  // Upstreams, tried in order; the next one when an attempt fails or times out.
  std::vector<core::Endpoint> udp_upstreams = {core::Endpoint{core::IpAddress::v4(0x01010101u), 53}};
  std::vector<std::string> doh_urls = {"https://cloudflare-dns.com/dns-query"};
  // Always TCP instead of UDP first (dig +tcp).
  bool tcp_only = false;
  // RFC 8484 GET (`?dns=` base64url) instead of POST.
  bool doh_get = false;
  // Trust for DoH: a CA PEM file or PEM text; "" = the system trust store.
  std::string ca_file;
  // Whole budget of one query, retries and failover included.
  std::chrono::milliseconds timeout{5'000};
  // One attempt at one upstream (capped by what is left of `timeout`).
  std::chrono::milliseconds attempt_timeout{1'500};
  // Rounds over the upstream list after the first; between rounds the client
  // waits `backoff`, doubling each time.
  int retries = 1;
  std::chrono::milliseconds backoff{50};
  // EDNS0 with the DO bit, so upstreams that validate report AD.
  bool dnssec_ok = true;
  std::uint16_t udp_payload_size = 1232;
  // RD bit on queries.
  bool recursion_desired = true;
  // The system strategy's nameservers for types getaddrinfo does not cover.
  std::string resolv_conf = "/etc/resolv.conf";
};

// One answer record, as the smartdns client presents it.
struct Answer {
  std::string name;  // owner, without the trailing dot
  RRType type{};
  std::uint32_t ttl = 0;
  // Record data as text: names without the trailing dot, TXT strings joined
  // without quotes, other types in presentation format ("10 mail.example.test").
  std::string value;
  bool dnssec_enabled = false;  // the response had AD set
  Record record;                // the typed record (empty rdata for system A/AAAA lookups: see value)
};

enum class QueryStatus : std::uint8_t {
  kOk,            // a response arrived (any RCODE)
  kTimeout,       // no usable response within the budget
  kNetworkError,  // refused, unreachable, connection closed
  kTlsError,      // DoH handshake or certificate verification failed
  kHttpError,     // DoH status not 200, or not a DNS message
  kBadResponse,   // only malformed or mismatched answers arrived
  kNotFound,      // system resolver: name or type does not exist
  kBadQuery,      // the name or type cannot be asked
};
std::string_view to_string(QueryStatus status) noexcept;

// The raw outcome of one query: the whole response message, for tools.
struct Exchange {
  QueryStatus status = QueryStatus::kTimeout;
  std::string error;   // why, when status != kOk: "127.0.0.1:53: timed out after 1500 ms"
  Message response;    // valid when status == kOk
  std::string server;  // "127.0.0.1:5353", "https://host/dns-query", "system"
  UpstreamTransport transport = UpstreamTransport::kUdp;
  std::string http_version;  // DoH: "HTTP/2" or "HTTP/1.1"
  std::chrono::microseconds duration{0};
  // Answers that arrived and were ignored: wrong ID, question or malformed.
  std::size_t ignored = 0;
  explicit operator bool() const noexcept { return status == QueryStatus::kOk; }
};

struct QueryResult {
  QueryStatus status = QueryStatus::kTimeout;
  std::string error;
  std::uint16_t rcode = 0;
  bool ad = false;
  std::vector<Answer> answers;  // records of the asked type (CNAMEs skipped unless asked)
  std::string server;
  UpstreamTransport transport = UpstreamTransport::kUdp;
  explicit operator bool() const noexcept { return status == QueryStatus::kOk; }
};

// Formats record data the way the smartdns client does (see Answer::value).
std::string answer_value(RRType type, ByteSpan rdata);
// Converts a response into answers of `type` (all types when nullopt).
std::vector<Answer> answers_of(const Message& response, std::optional<RRType> type);

class Client {
 public:
  // Throws std::invalid_argument for unusable options (no upstream for the
  // strategy, a bad DoH URL or CA file).
  Client(boost::asio::io_context& io, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const noexcept;

  // Resolves `name`/`type` with the configured strategy.
  boost::asio::awaitable<QueryResult> query(std::string_view name, RRType type);
  // The same with an explicit strategy for this call.
  boost::asio::awaitable<QueryResult> query(std::string_view name, RRType type, Strategy strategy);
  // Typed helpers: the values of the answers (addresses, TXT text, NS names).
  boost::asio::awaitable<QueryResult> a(std::string_view name) { return query(name, RRType::kA); }
  boost::asio::awaitable<QueryResult> aaaa(std::string_view name) { return query(name, RRType::kAAAA); }
  boost::asio::awaitable<QueryResult> txt(std::string_view name) { return query(name, RRType::kTXT); }
  boost::asio::awaitable<QueryResult> ns(std::string_view name) { return query(name, RRType::kNS); }
  // The NS names of `domain` (without trailing dots); empty when none.
  boost::asio::awaitable<std::vector<std::string>> name_servers(std::string_view domain);

  // One query over one transport, with the whole response: UDP (TCP on TC,
  // or always with tcp_only) to the UDP upstreams with failover, DoH to the
  // DoH upstreams, or the system resolver's nameservers (kSystem).
  boost::asio::awaitable<Exchange> exchange(std::string_view name, RRType type, UpstreamTransport transport);

  // Polls until `name`/`type` has a record whose value is `expected_value`,
  // alternating the system resolver and the configured strategy, up to
  // `cycles` times `interval` apart. True when seen.
  boost::asio::awaitable<bool> check_until_available(
      std::string_view name, RRType type, std::string expected_value, int cycles = 50,
      std::chrono::milliseconds interval = std::chrono::milliseconds(500));

  // Closes pooled DoH connections (in-flight DoH queries fail). Call before
  // destroying the Client while its io_context still runs.
  void close();

  // DoH connections opened so far (connection reuse shows as 1 for many queries).
  std::size_t doh_connections_opened() const noexcept;

  struct Impl;  // implementation detail

 private:
  std::shared_ptr<Impl> impl_;
};

// A Client with its own io_context, for synchronous code. Each call runs the
// query to completion on the calling thread. Not thread-safe: one caller at a time.
class BlockingClient {
 public:
  explicit BlockingClient(ClientOptions options);
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  QueryResult query(std::string_view name, RRType type);
  QueryResult query(std::string_view name, RRType type, Strategy strategy);
  Exchange exchange(std::string_view name, RRType type, UpstreamTransport transport);
  std::vector<std::string> name_servers(std::string_view domain);
  bool check_until_available(std::string_view name, RRType type, std::string expected_value, int cycles = 50,
                             std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  Client& async() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::dns
