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
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>

namespace basalt::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
constexpr std::size_t kReadChunk = 16 * 1024;
}

struct RequestReader::Impl {
  std::size_t max_header;
  std::size_t max_body;
  beast::flat_buffer buffer;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
  bool keep_alive = false;

  void start() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_header, UINT32_MAX)));
    parser->body_limit(max_body);
    parser->eager(true);
  }
};

RequestReader::RequestReader(std::size_t max_header_bytes, std::size_t max_body_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->max_header = max_header_bytes;
  impl_->max_body = max_body_bytes;
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

RequestReader::Status RequestReader::parse() {
  auto& p = *impl_->parser;
  while (!p.is_done()) {
    if (impl_->buffer.size() == 0) return Status::kNeedMore;
    beast::error_code ec;
    std::size_t used = p.put(impl_->buffer.data(), ec);
    impl_->buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      // The header, and each chunk-size line, must arrive whole; refuse to
      // buffer past the header limit (plus the read chunk Beast needs to see
      // the end of a line). Beast 1.81 has no limit on chunk extensions.
      if (impl_->buffer.size() > impl_->max_header + kReadChunk) {
        return p.is_header_done() ? Status::kBadRequest : Status::kHeaderTooLarge;
      }
      return Status::kNeedMore;
    }
    if (ec == bhttp::error::header_limit) return Status::kHeaderTooLarge;
    if (ec == bhttp::error::body_limit) return Status::kBodyTooLarge;
    if (ec) return Status::kBadRequest;
    if (used == 0 && !p.is_done()) return Status::kNeedMore;
  }
  return Status::kComplete;
}

bool RequestReader::started() const noexcept {
  return impl_->buffer.size() > 0 || impl_->parser->got_some();
}
bool RequestReader::header_done() const noexcept {
  return impl_->parser->is_header_done();
}

bool RequestReader::expects_continue() const noexcept {
  auto& p = *impl_->parser;
  if (!p.is_header_done() || p.is_done()) return false;
  auto& m = p.get();
  auto it = m.find(bhttp::field::expect);
  return it != m.end() && beast::iequals(it->value(), "100-continue") && m.version() == 11;
}

int RequestReader::status_code(Status s) noexcept {
  switch (s) {
    case Status::kHeaderTooLarge:
      return 431;
    case Status::kBodyTooLarge:
      return 413;
    case Status::kBadRequest:
      return 400;
    default:
      return 200;
  }
}

Request RequestReader::take() {
  auto& p = *impl_->parser;
  impl_->keep_alive = p.keep_alive();
  auto m = p.release();
  Request r;
  r.method.assign(m.method_string());
  r.set_target(m.target());
  r.version = m.version() == 10 ? Version::http1_0 : Version::http1_1;
  for (auto& f : m) r.headers.add(f.name_string(), f.value());
  if (auto host = r.headers.get("host")) r.authority.assign(*host);
  r.body = std::move(m.body());
  return r;
}

bool RequestReader::keep_alive() const noexcept {
  return impl_->keep_alive;
}

void RequestReader::reset() {
  impl_->start();
}

}  // namespace basalt::http
