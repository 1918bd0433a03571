#include "h1_request_reader.hpp"

// Beast 1.81's chunk parser asserts on valid input split in unlucky places
// (`n >= 5` in parse_chunk_header for "0\r\n" then "\r\n"; fixed upstream in
// Beast PR 2861, Boost 1.86) and goes on correctly without the assertion. We
// build with assertions on, so a peer could abort the process: Beast's
// parser code in this file (the only other Beast user, the response reader,
// does the same) is compiled without BOOST_ASSERT. boost/assert.hpp is
// meant to be re-included with a new setting.
#define BOOST_DISABLE_ASSERTS
#include <boost/assert.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace basalt::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
constexpr std::size_t kReadChunk = 16 * 1024;

using Status = RequestReader::Status;
using Parser = bhttp::request_parser<bhttp::buffer_body>;
using Header = Parser::value_type;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): an
// IP-literal in brackets or reg-name characters (which also cover IPv4),
// then optional digits after a colon. Empty is allowed (RFC 9112 §3.2).
bool valid_host(std::string_view host) {
  std::size_t i = 0;
  if (!host.empty() && host[0] == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : host.substr(1, close - 1)) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
                c == '.' || c == 'v' || c == 'V';
      if (!ok) return false;
    }
    i = close + 1;
  } else {
    static constexpr std::string_view kRegName = "-._~%!$&'()*+,;=";
    for (; i < host.size() && host[i] != ':'; ++i) {
      char c = host[i];
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                kRegName.find(c) != std::string_view::npos;
      if (!ok) return false;
    }
  }
  if (i == host.size()) return true;
  if (host[i] != ':') return false;
  for (char c : host.substr(i + 1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Transfer-Encoding (RFC 9112 §6.1, §6.3). Only "chunked" is implemented,
// and the request is refused rather than guessed at in every case where two
// parsers could disagree on where the body ends (request smuggling).
Status check_transfer_encoding(const Header& h, bool beast_chunked) {
  std::vector<std::string_view> codings;
  bool present = false;
  for (auto& f : h) {
    if (f.name() != bhttp::field::transfer_encoding) continue;
    present = true;
    std::string_view v = f.value();
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = trim(v.substr(0, comma));
      if (!item.empty()) codings.push_back(item);
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
  }
  if (!present) return Status::kComplete;
  // HTTP/1.0 has no transfer codings: the framing is faulty (§6.1).
  if (h.version() < 11) return Status::kBadRequest;
  // Both lengths: a server may reject, and must close either way (§6.1).
  if (h.find(bhttp::field::content_length) != h.end()) return Status::kBadRequest;
  // A final coding other than chunked leaves the length unknown (§6.3);
  // chunked applied twice is not allowed (§6.1).
  if (codings.empty() || !beast::iequals(codings.back(), "chunked")) return Status::kBadRequest;
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (beast::iequals(codings[i], "chunked")) return Status::kBadRequest;
  }
  // Framed, but the body would reach the handler still coded (§6.1: 501).
  if (codings.size() > 1) return Status::kNotImplemented;
  // Beast must read it as chunked too, or the two would disagree.
  return beast_chunked ? Status::kComplete : Status::kBadRequest;
}

// Host (RFC 9112 §3.2): exactly one in HTTP/1.1, at most one otherwise,
// with a valid value.
Status check_host(const Header& h) {
  std::size_t count = 0;
  std::string_view value;
  for (auto& f : h) {
    if (f.name() != bhttp::field::host) continue;
    ++count;
    value = f.value();
  }
  if (count > 1 || (count == 0 && h.version() != 10)) return Status::kBadRequest;
  if (count == 1 && !valid_host(value)) return Status::kBadRequest;
  return Status::kComplete;
}
}  // namespace

struct RequestReader::Impl {
  std::size_t max_header;
  std::size_t max_body;  // 0: none
  std::size_t max_line;
  std::size_t max_fields;
  beast::flat_buffer buffer;
  std::optional<Parser> parser;
  std::size_t head_fields = 0;  // fields in the head (the rest are trailers)
  bool header_checked = false;
  bool keep_alive = false;
  std::string whole_body;             // parse()/take() only
  Status failed = Status::kNeedMore;  // a refusal is final for the connection

  void start() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_header, UINT32_MAX)));
    // The header is checked before any body byte is parsed (put() stops at
    // the end of the header when not eager); the body limit is applied
    // then, so a misframed request is a 400 even with a huge length.
    parser->body_limit(boost::none);
    parser->eager(false);
    header_checked = false;
    head_fields = 0;
    whole_body.clear();
  }

  Status check_header() {
    auto& p = *parser;
    const auto& h = p.get();
    if (auto s = check_transfer_encoding(h, p.chunked()); s != Status::kComplete) return s;
    if (auto s = check_host(h); s != Status::kComplete) return s;
    if (h.method_string().size() + h.target().size() + 11 > max_line) return Status::kUriTooLong;
    head_fields = static_cast<std::size_t>(std::distance(h.begin(), h.end()));
    if (head_fields > max_fields) return Status::kHeaderTooLarge;
    if (auto length = p.content_length(); max_body && length && *length > max_body)
      return Status::kBodyTooLarge;
    if (max_body) {
      p.body_limit(max_body);
    }
    p.eager(true);
    return Status::kComplete;
  }

  Status fail(Status s) {
    failed = s;
    return s;
  }

  // One put() of buffered bytes into the parser; `room` bytes of body
  // space at `out` (none while parsing the head). Returns kComplete when
  // the parser made progress, kNeedMore when it needs more input.
  Status step(char* out, std::size_t room, std::size_t& produced) {
    auto& p = *parser;
    auto& body = p.get().body();
    body.data = out;
    body.size = room;
    body.more = true;
    beast::error_code ec;
    std::size_t used = p.put(buffer.data(), ec);
    buffer.consume(used);
    produced = room - body.size;
    body.data = nullptr;
    body.size = 0;
    if (ec == bhttp::error::need_buffer) return Status::kComplete;  // `out` is full
    if (ec == bhttp::error::need_more) {
      // The header, and each chunk-size line, must arrive whole; refuse to
      // buffer past the header limit (plus the read chunk Beast needs to see
      // the end of a line). Beast 1.81 has no limit on chunk extensions.
      if (buffer.size() > max_header + kReadChunk) {
        return fail(p.is_header_done() ? Status::kBadRequest : Status::kHeaderTooLarge);
      }
      return Status::kNeedMore;
    }
    if (ec == bhttp::error::header_limit) return fail(Status::kHeaderTooLarge);
    if (ec == bhttp::error::body_limit) return fail(Status::kBodyTooLarge);
    if (ec) return fail(Status::kBadRequest);
    if (used == 0 && produced == 0 && !p.is_done() && !(p.is_header_done() && !header_checked)) {
      return Status::kNeedMore;
    }
    return Status::kComplete;
  }
};

RequestReader::RequestReader(std::size_t max_header_bytes, std::size_t max_body_bytes,
                             std::size_t max_request_line_bytes, std::size_t max_header_count)
    : impl_(std::make_unique<Impl>()) {
  impl_->max_header = max_header_bytes;
  impl_->max_body = max_body_bytes;
  impl_->max_line = max_request_line_bytes;
  impl_->max_fields = max_header_count;
  impl_->start();
}

RequestReader::~RequestReader() = default;

boost::asio::mutable_buffer RequestReader::prepare() {
  return impl_->buffer.prepare(kReadChunk);
}
void RequestReader::commit(std::size_t n) {
  impl_->buffer.commit(n);
}

void RequestReader::append(std::string_view bytes) {
  auto b = impl_->buffer.prepare(bytes.size());
  std::memcpy(b.data(), bytes.data(), bytes.size());
  impl_->buffer.commit(bytes.size());
}

std::size_t RequestReader::buffered() const noexcept {
  return impl_->buffer.size();
}

RequestReader::Status RequestReader::parse_head() {
  auto& impl = *impl_;
  if (impl.failed != Status::kNeedMore) return impl.failed;
  auto& p = *impl.parser;
  while (!impl.header_checked) {
    if (p.is_header_done()) {
      impl.header_checked = true;
      if (auto s = impl.check_header(); s != Status::kComplete) return impl.fail(s);
      impl.keep_alive = p.keep_alive();
      return Status::kComplete;
    }
    if (impl.buffer.size() == 0) return Status::kNeedMore;
    std::size_t produced = 0;
    if (auto s = impl.step(nullptr, 0, produced); s != Status::kComplete) return s;
  }
  return Status::kComplete;
}

RequestHead RequestReader::take_head() {
  auto& m = impl_->parser->get();
  RequestHead r;
  r.method.assign(m.method_string());
  r.set_target(m.target());
  r.version = m.version() == 10 ? Version::http1_0 : Version::http1_1;
  for (auto& f : m) r.headers.add(f.name_string(), f.value());
  if (auto host = r.headers.get("host")) r.authority.assign(*host);
  return r;
}

bool RequestReader::has_body() const noexcept {
  auto& p = *impl_->parser;
  if (p.chunked()) return true;
  auto length = p.content_length();
  return length && *length > 0;
}

RequestReader::Status RequestReader::parse_body(std::string& out, std::size_t max) {
  auto& impl = *impl_;
  if (impl.failed != Status::kNeedMore) return impl.failed;
  auto& p = *impl.parser;
  while (!p.is_done()) {
    if (out.size() >= max || impl.buffer.size() == 0) return Status::kNeedMore;
    // Decoded bytes never outnumber the raw ones.
    std::size_t room = std::min(max - out.size(), impl.buffer.size());
    std::size_t old = out.size();
    out.resize(old + room);
    std::size_t produced = 0;
    auto s = impl.step(out.data() + old, room, produced);
    out.resize(old + produced);
    if (s != Status::kComplete) return s;
  }
  return Status::kComplete;
}

Headers RequestReader::take_trailers() {
  Headers trailers;
  auto& m = impl_->parser->get();
  std::size_t i = 0;
  for (auto& f : m) {
    if (i++ >= impl_->head_fields) trailers.add(f.name_string(), f.value());
  }
  return trailers;
}

std::string RequestReader::take_raw() {
  auto& b = impl_->buffer;
  std::string raw(static_cast<const char*>(b.data().data()), b.size());
  b.consume(b.size());
  impl_->failed = Status::kBadRequest;  // nothing more is parsed as HTTP
  return raw;
}

RequestReader::Status RequestReader::parse() {
  auto& impl = *impl_;
  if (auto s = parse_head(); s != Status::kComplete) return s;
  std::size_t limit = impl.max_body ? impl.max_body : SIZE_MAX;
  return parse_body(impl.whole_body, limit);
}

Request RequestReader::take() {
  Request r;
  static_cast<RequestHead&>(r) = take_head();
  r.body = std::move(impl_->whole_body);
  impl_->whole_body.clear();
  return r;
}

bool RequestReader::started() const noexcept {
  return impl_->buffer.size() > 0 || impl_->parser->got_some();
}
bool RequestReader::header_done() const noexcept {
  return impl_->header_checked;
}

bool RequestReader::expects_continue() const noexcept {
  auto& p = *impl_->parser;
  if (impl_->failed != Status::kNeedMore || !impl_->header_checked || p.is_done()) return false;
  auto& m = p.get();
  auto it = m.find(bhttp::field::expect);
  return it != m.end() && beast::iequals(it->value(), "100-continue") && m.version() == 11;
}

bool RequestReader::upgrade() const noexcept {
  return impl_->header_checked && impl_->parser->upgrade();
}

int RequestReader::status_code(Status s) noexcept {
  switch (s) {
    case Status::kHeaderTooLarge:
      return 431;
    case Status::kBodyTooLarge:
      return 413;
    case Status::kBadRequest:
      return 400;
    case Status::kNotImplemented:
      return 501;
    case Status::kUriTooLong:
      return 414;
    default:
      return 200;
  }
}

bool RequestReader::keep_alive() const noexcept {
  return impl_->keep_alive;
}

void RequestReader::reset() {
  impl_->start();
}

}  // namespace basalt::http
