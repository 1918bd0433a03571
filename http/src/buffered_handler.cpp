// The buffered adapter: a Handler (whole request -> whole response) served
// through the streaming interface.
#include "buffered_handler.hpp"

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t kDefaultBufferedBody = 1024 * 1024;
}  // namespace

asio::awaitable<void> serve_buffered(const Handler& handler, std::size_t max_body_bytes,
                                     ServerRequest request, ResponseWriter& writer) {
  std::size_t limit = max_body_bytes ? max_body_bytes : kDefaultBufferedBody;
  error_code ec;
  Request whole;
  static_cast<RequestHead&>(whole) = std::move(static_cast<RequestHead&>(request));
  whole.body = co_await request.body->read_all(limit, ec);
  if (ec == BodyError::kTooLarge) {
    Response answer = Response::text(413, reason_phrase(413));
    co_await writer.respond(std::move(answer), ec);
    co_return;
  }
  if (ec) {
    writer.reset();  // the client went away or the body timed out (the session answered)
    co_return;
  }
  Response response = co_await handler(std::move(whole));
  co_await writer.respond(std::move(response), ec);
}

StreamHandler buffered(Handler handler, std::size_t max_body_bytes) {
  // The returned function owns the handler; the awaitable refers to it.
  auto shared = std::make_shared<const Handler>(std::move(handler));
  return [shared, max_body_bytes](ServerRequest request, ResponseWriter& writer) -> asio::awaitable<void> {
    return serve_buffered(*shared, max_body_bytes, std::move(request), writer);
  };
}

}  // namespace basalt::http
