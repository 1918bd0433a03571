// The buffered adapter: a Handler (whole request -> whole response) served
// through the streaming interface.
#include "basalt/http/stream_handler.hpp"

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t kDefaultBufferedBody = 1024 * 1024;

asio::awaitable<void> serve_buffered(std::shared_ptr<Handler> handler, std::size_t limit,
                                     ServerRequest request, ResponseWriter& writer) {
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
  Response response = co_await (*handler)(std::move(whole));
  co_await writer.respond(std::move(response), ec);
}
}  // namespace

StreamHandler buffered(Handler handler, std::size_t max_body_bytes) {
  auto shared = std::make_shared<Handler>(std::move(handler));
  std::size_t limit = max_body_bytes ? max_body_bytes : kDefaultBufferedBody;
  return [shared, limit](ServerRequest request, ResponseWriter& writer) -> asio::awaitable<void> {
    return serve_buffered(shared, limit, std::move(request), writer);
  };
}

}  // namespace basalt::http
