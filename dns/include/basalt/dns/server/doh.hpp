// DNS over HTTPS (RFC 8484), plus the JSON form Google and Cloudflare serve,
// as an http::Handler: turns an HTTP request into one DNS message, has it
// answered and wraps the answer as HTTP. The answerer is either a
// DohAnswerer, which gets the client's address and reports the answer's
// max-age itself (dns::Server::doh_answerer(): the query is parsed once, on
// the DNS worker of the HTTP connection), or any function that answers raw
// DNS messages (PacketAnswerer; then the handler checks the query and reads
// the max-age from the answer itself).
//
//   http::Router router;
//   router.add("/dns-query", {"GET", "POST"}, dns::DohHandler(server.doh_answerer()));
//   http::Server http(server.runtime(), router.handler(), dns::DohHandler::limits());
//
// What it answers:
//   GET  ?dns=<base64url, no padding>            application/dns-message
//   POST body, Content-Type application/dns-message  application/dns-message
//   GET  ?name=<name>&type=<A|28|...>[&do=1][&cd=1]  application/dns-json
// with `Cache-Control: max-age=` the smallest TTL of the answer (the
// authority section's SOA for a negative answer, 0 when there is no record).
// Errors: 400 for a missing or malformed parameter or a message that is not
// a DNS query, 415 for a POST with another content type, 413 for a body over
// 65535 octets (also enforced by limits()), 405 via the router for other
// methods. A handler is a cheap copyable value, thread-safe if the answerer is.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/http/limits.hpp"
#include "basalt/http/message.hpp"

namespace basalt::dns {

// Answers one raw DNS query; an empty result means "no answer" (the message
// was not a query), which DoH reports as 400.
using PacketAnswerer =
    std::function<boost::asio::awaitable<std::vector<std::uint8_t>>(std::span<const std::uint8_t> query)>;

// A DoH answer: the DNS response as the HTTP body, and its Cache-Control
// max-age (doh_max_age()'s rule). An empty message means the request held no
// DNS query (unparsable, too short, or a response), which DoH reports as 400.
struct DohAnswer {
  std::string message;
  std::uint32_t max_age = 0;
};

// Answers one DNS query received over DoH from `client` (the HTTP peer). It
// runs on the HTTP connection's thread; `query` lives until it completes.
using DohAnswerer = std::function<boost::asio::awaitable<DohAnswer>(std::span<const std::uint8_t> query,
                                                                    const core::Endpoint& client)>;

class DohHandler {
 public:
  // The largest DNS message (and so POST body) accepted.
  static constexpr std::size_t kMaxMessage = 65535;

  explicit DohHandler(DohAnswerer answer);
  // Checks each query, and parses each answer for its max-age, itself.
  explicit DohHandler(PacketAnswerer answer);

  // Never throws for bad input: every failure is an HTTP status.
  boost::asio::awaitable<http::Response> operator()(http::Request request) const;

  // Server limits suited to DoH: bodies capped at kMaxMessage (413 above),
  // many concurrent HTTP/2 streams, the rest as http::Limits defaults.
  static http::Limits limits();

 private:
  boost::asio::awaitable<http::Response> wire(std::span<const std::uint8_t> query,
                                              const core::Endpoint& client) const;
  boost::asio::awaitable<http::Response> json(const http::Request& request) const;

  std::shared_ptr<const DohAnswerer> answer_;
};

// The Cache-Control max-age (RFC 8484 §5.1) for a DNS response: the smallest
// TTL in its answer section, else in its authority section, else 0.
std::uint32_t doh_max_age(std::span<const std::uint8_t> response) noexcept;

}  // namespace basalt::dns
