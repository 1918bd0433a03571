#include "basalt/dns/server/doh.hpp"

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/message_writer.hpp"
#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns {
namespace asio = boost::asio;

namespace {

constexpr std::string_view kDnsMessage = "application/dns-message";
constexpr std::string_view kDnsJson = "application/dns-json";

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

// The media type of a Content-Type value, without parameters and spaces.
std::string_view media_type(std::string_view value) noexcept {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return value;
}

http::Response error(int status, std::string_view why) {
  auto r = http::Response::text(status, why);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

// "1", "true" -> true; "0", "false", "" -> false; else nullopt.
std::optional<bool> flag(std::optional<std::string_view> v) {
  if (!v || v->empty() || *v == "0" || *v == "false") return false;
  if (*v == "1" || *v == "true") return true;
  return std::nullopt;
}

std::optional<RRType> parse_type(std::string_view text) {
  if (text.empty()) return RRType::kA;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (value > 65535) return std::nullopt;
    return static_cast<RRType>(value);
  }
  std::string upper(text);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return rr_type_from_string(upper);
}

boost::json::array json_section(RecordRange records, bool skip_opt) {
  boost::json::array out;
  Bytes rdata;
  for (const auto& r : records) {
    if (skip_opt && r.type == RRType::kOPT) continue;
    rdata.clear();
    r.uncompressed_rdata(rdata);
    out.push_back(boost::json::object{{"name", r.owner.to_name().to_string()},
                                      {"type", static_cast<std::uint16_t>(r.type)},
                                      {"TTL", r.ttl},
                                      {"data", rdata_to_text(r.type, rdata)}});
  }
  return out;
}

}  // namespace

std::uint32_t doh_max_age(std::span<const std::uint8_t> response) noexcept {
  MessageView v;
  if (v.parse(response) != WireError::kOk) return 0;
  auto smallest = [](RecordRange range) {
    std::optional<std::uint32_t> m;
    for (const auto& r : range) m = std::min(m.value_or(std::numeric_limits<std::uint32_t>::max()), r.ttl);
    return m;
  };
  if (auto m = smallest(v.answers())) return *m;
  if (auto m = smallest(v.authority())) return *m;
  return 0;
}

namespace {
// A PacketAnswerer as a DohAnswerer: the query is checked here, and the
// answer parsed for its max-age, since a raw answerer tells neither.
asio::awaitable<DohAnswer> answer_packet(std::shared_ptr<const PacketAnswerer> answer,
                                         std::span<const std::uint8_t> query) {
  {
    MessageView v;
    if (query.size() < Header::kSize || v.parse(query) != WireError::kOk || v.header().qr)
      co_return DohAnswer{};
  }
  auto bytes = co_await (*answer)(query);
  DohAnswer a;
  a.max_age = doh_max_age(bytes);
  a.message.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  co_return a;
}
}  // namespace

DohHandler::DohHandler(DohAnswerer answer)
    : answer_(std::make_shared<const DohAnswerer>(std::move(answer))) {}

DohHandler::DohHandler(PacketAnswerer answer)
    : DohHandler([a = std::make_shared<const PacketAnswerer>(std::move(answer))](
                     std::span<const std::uint8_t> query, const core::Endpoint&) {
        return answer_packet(a, query);
      }) {}

http::Limits DohHandler::limits() {
  http::Limits l;
  l.max_body_bytes = kMaxMessage;
  l.max_header_bytes =
      16 * 1024;  // a GET ?dns= carries up to 87 KiB of base64 in theory; 16 KiB covers real queries
  l.max_concurrent_streams = 256;
  return l;
}

asio::awaitable<http::Response> DohHandler::operator()(http::Request request) const {
  if (request.method == "POST") {
    auto type = request.headers.get("content-type");
    if (!type || !iequals(media_type(*type), kDnsMessage)) {
      co_return error(415, "POST needs Content-Type: application/dns-message");
    }
    if (request.body.size() > kMaxMessage) co_return error(413, "a DNS message has at most 65535 octets");
    std::span<const std::uint8_t> q(reinterpret_cast<const std::uint8_t*>(request.body.data()),
                                    request.body.size());
    co_return co_await wire(q, request.remote);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r = error(405, "only GET and POST");
    r.headers.set("Allow", "GET, POST");
    co_return r;
  }
  if (auto dns = request.query_param("dns")) {
    // RFC 8484 §6: base64url without padding.
    if (dns->find('=') != std::string_view::npos)
      co_return error(400, "dns parameter must be base64url without padding");
    auto bytes = core::base64url_decode(*dns);
    if (!bytes) co_return error(400, "dns parameter is not base64url");
    if (bytes->size() > kMaxMessage) co_return error(413, "a DNS message has at most 65535 octets");
    co_return co_await wire(*bytes, request.remote);
  }
  if (request.query_param("name")) co_return co_await json(request);
  co_return error(400, "missing dns (RFC 8484) or name (JSON) parameter");
}

asio::awaitable<http::Response> DohHandler::wire(std::span<const std::uint8_t> query,
                                                 const core::Endpoint& client) const {
  auto answer = co_await (*answer_)(query, client);
  if (answer.message.empty()) co_return error(400, "not a DNS query message");
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", kDnsMessage);
  r.headers.set("Cache-Control", fmt::format("max-age={}", answer.max_age));
  r.body = std::move(answer.message);
  co_return r;
}

asio::awaitable<http::Response> DohHandler::json(const http::Request& request) const {
  auto name_text = *request.query_param("name");
  auto name = Name::from_text(name_text);
  if (name_text.empty() || !name) co_return error(400, "name parameter is not a domain name");
  auto type = parse_type(request.query_param("type").value_or(""));
  if (!type) co_return error(400, "type parameter is not a record type (mnemonic or number)");
  auto dnssec_ok = flag(request.query_param("do"));
  auto checking_disabled = flag(request.query_param("cd"));
  if (!dnssec_ok || !checking_disabled) co_return error(400, "do and cd parameters take 0, 1, true or false");

  std::array<std::uint8_t, 512> qbuf;
  MessageWriter w(qbuf);
  w.header().rd = true;
  w.header().cd = *checking_disabled;
  w.add_question(*name, *type, RRClass::kIN);
  w.set_edns(4096, 0, *dnssec_ok);
  auto qsize = w.finish();
  auto answer = co_await (*answer_)(std::span<const std::uint8_t>(qbuf.data(), qsize), request.remote);
  MessageView v;
  std::span<const std::uint8_t> message(reinterpret_cast<const std::uint8_t*>(answer.message.data()),
                                        answer.message.size());
  if (message.empty() || v.parse(message) != WireError::kOk)
    co_return error(400, "the query could not be answered");

  const auto& h = v.header();
  boost::json::object out{{"Status", v.rcode()}, {"TC", h.tc}, {"RD", h.rd},
                          {"RA", h.ra},          {"AD", h.ad}, {"CD", h.cd}};
  boost::json::array questions;
  v.for_each_question([&](const QuestionView& q) {
    questions.push_back(boost::json::object{{"name", q.name.to_name().to_string()},
                                            {"type", static_cast<std::uint16_t>(q.type)}});
  });
  out["Question"] = std::move(questions);
  if (h.ancount) out["Answer"] = json_section(v.answers(), false);
  if (h.nscount) out["Authority"] = json_section(v.authority(), false);
  if (h.arcount > (v.has_edns() ? 1 : 0)) out["Additional"] = json_section(v.additional(), true);

  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", kDnsJson);
  r.headers.set("Cache-Control", fmt::format("max-age={}", answer.max_age));
  r.body = boost::json::serialize(out);
  co_return r;
}

}  // namespace basalt::dns
