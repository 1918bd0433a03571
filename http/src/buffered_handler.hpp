// The buffered adapter's body, for callers that keep the Handler alive
// themselves (the Router's table) and so need no copy of it per request.
#pragma once

#include "basalt/http/stream_handler.hpp"

namespace basalt::http {

// Reads the whole body (at most `max_body_bytes`, else 413), calls
// `handler` (which must outlive the returned awaitable), sends its Response.
boost::asio::awaitable<void> serve_buffered(const Handler& handler, std::size_t max_body_bytes,
                                            ServerRequest request, ResponseWriter& writer);

}  // namespace basalt::http
