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

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <optional>

namespace basalt::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// A Beast body that only collects decoded bytes until they are taken out.
// (string_body reserves the announced Content-Length up front, which a
// streaming client must not do for a multi-gigabyte download.)
struct SinkBody {
  using value_type = std::string;
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace

struct ResponseReader::Impl {
  beast::flat_buffer buffer;
  std::optional<bhttp::response_parser<SinkBody>> parser;
  std::size_t max_header = 0;
  bool no_body = false;
  bool head_reported = false;
  bool keep_alive = false;
  int interim = 0;
  std::size_t head_fields = 0;  // fields after these are chunked trailers
  std::uint64_t received = 0;
  ResponseHead head;

  void start() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_header, UINT32_MAX)));
    parser->body_limit(boost::none);  // the consumer bounds what it reads (Body::read_all)
    parser->eager(false);             // stop after the head so it is reported first
    parser->skip(no_body);
  }
};

ResponseReader::ResponseReader(std::size_t max_header_bytes, bool no_body) : impl_(std::make_unique<Impl>()) {
  impl_->max_header = max_header_bytes;
  impl_->no_body = no_body;
  impl_->start();
}

ResponseReader::~ResponseReader() = default;

boost::asio::mutable_buffer ResponseReader::prepare() {
  return impl_->buffer.prepare(16 * 1024);
}

void ResponseReader::commit(std::size_t n) {
  impl_->buffer.commit(n);
  impl_->received += n;
}

ResponseReader::Status ResponseReader::parse() {
  auto& m = *impl_;
  for (;;) {
    auto& p = *m.parser;
    if (p.is_header_done() && !m.head_reported) {
      int status = p.get().result_int();
      if (status >= 100 && status < 200 && status != 101) {
        // Interim responses (100 Continue, 103 Early Hints) precede the real one.
        m.interim = status;
        m.start();
        return Status::kInterim;
      }
      m.head_reported = true;
      m.head.status = status;
      m.head.headers.clear();
      for (auto& f : p.get()) m.head.headers.add(f.name_string(), f.value());
      m.head_fields = m.head.headers.size();
      p.eager(true);
      return Status::kHead;
    }
    if (p.is_done()) {
      m.keep_alive = p.keep_alive();
      return Status::kComplete;
    }
    if (m.buffer.size() == 0) return Status::kNeedMore;
    beast::error_code ec;
    std::size_t used = p.put(m.buffer.data(), ec);
    m.buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      if (m.buffer.size() > m.max_header + 16 * 1024) return Status::kTooLarge;  // head or chunk line
      return Status::kNeedMore;
    }
    if (ec == bhttp::error::header_limit) return Status::kTooLarge;
    if (ec) return Status::kBad;
    if (p.is_header_done() && !m.head_reported) continue;
    if (used == 0 && !p.is_done()) return Status::kNeedMore;
  }
}

ResponseReader::Status ResponseReader::finish_on_eof() {
  auto& p = *impl_->parser;
  if (p.is_done()) return Status::kComplete;
  if (!p.is_header_done()) return Status::kBad;
  beast::error_code ec;
  p.put_eof(ec);
  if (ec || !p.is_done()) return Status::kBad;
  impl_->keep_alive = false;
  return Status::kComplete;
}

int ResponseReader::interim_status() const noexcept {
  return impl_->interim;
}

const ResponseHead& ResponseReader::head() const noexcept {
  return impl_->head;
}

std::string ResponseReader::take_body() {
  std::string out;
  out.swap(impl_->parser->get().body());
  return out;
}

Headers ResponseReader::trailers() const {
  Headers t;
  std::size_t i = 0;
  for (auto& f : impl_->parser->get()) {
    if (i++ >= impl_->head_fields) t.add(f.name_string(), f.value());
  }
  return t;
}

std::string ResponseReader::take_unparsed() {
  auto data = impl_->buffer.data();
  std::string out(static_cast<const char*>(data.data()), data.size());
  impl_->buffer.consume(data.size());
  return out;
}

std::uint64_t ResponseReader::bytes_received() const noexcept {
  return impl_->received;
}

bool ResponseReader::keep_alive() const noexcept {
  return impl_->keep_alive;
}

}  // namespace basalt::http
