#include "h1_response_reader.hpp"

// Beast 1.81's chunk parser asserts on valid input split in unlucky places
// (`n >= 5` in parse_chunk_header for "0\r\n" then "\r\n"; fixed upstream in
// Beast PR 2861, Boost 1.86) and goes on correctly without the assertion. We
// build with assertions on, so a peer could abort the process: Beast's
// parser code in this file (the only other Beast user, the request reader,
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

struct ResponseReader::Impl {
  beast::flat_buffer buffer;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  std::size_t max_header = 0;
  std::size_t max_body = 0;
  bool head = false;
  bool keep_alive = false;

  void start() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_header, UINT32_MAX)));
    parser->body_limit(max_body);
    parser->eager(true);
    parser->skip(head);
  }
};

ResponseReader::ResponseReader(std::size_t max_header_bytes, std::size_t max_body_bytes, bool head_request)
    : impl_(std::make_unique<Impl>()) {
  impl_->max_header = max_header_bytes;
  impl_->max_body = max_body_bytes;
  impl_->head = head_request;
  impl_->start();
}

ResponseReader::~ResponseReader() = default;

boost::asio::mutable_buffer ResponseReader::prepare() {
  return impl_->buffer.prepare(16 * 1024);
}
void ResponseReader::commit(std::size_t n) {
  impl_->buffer.commit(n);
}

ResponseReader::Status ResponseReader::parse() {
  for (;;) {
    auto& p = *impl_->parser;
    while (!p.is_done()) {
      if (impl_->buffer.size() == 0) return Status::kNeedMore;
      beast::error_code ec;
      std::size_t used = p.put(impl_->buffer.data(), ec);
      impl_->buffer.consume(used);
      if (ec == bhttp::error::need_more) {
        if (impl_->buffer.size() > impl_->max_header + 16 * 1024)
          return Status::kTooLarge;  // header or chunk line
        return Status::kNeedMore;
      }
      if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit) return Status::kTooLarge;
      if (ec) return Status::kBad;
      if (used == 0 && !p.is_done()) return Status::kNeedMore;
    }
    // Interim responses (100 Continue, 103 Early Hints) precede the real one.
    int status = p.get().result_int();
    if (status < 100 || status >= 200 || status == 101) return Status::kComplete;
    impl_->start();
  }
}

ResponseReader::Status ResponseReader::finish_on_eof() {
  beast::error_code ec;
  impl_->parser->put_eof(ec);
  if (ec) return Status::kBad;
  return impl_->parser->is_done() ? Status::kComplete : Status::kBad;
}

Response ResponseReader::take() {
  impl_->keep_alive = impl_->parser->keep_alive();
  auto m = impl_->parser->release();
  Response r;
  r.status = static_cast<int>(m.result_int());
  for (auto& f : m) r.headers.add(f.name_string(), f.value());
  r.body = std::move(m.body());
  return r;
}

bool ResponseReader::keep_alive() const noexcept {
  return impl_->keep_alive;
}

}  // namespace basalt::http
