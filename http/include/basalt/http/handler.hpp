// The handler type a Server calls for every request.
//
// A handler is a coroutine: it may await I/O (a database, an upstream, a DNS
// lookup) without blocking other requests on the same connection or thread.
// It runs on the worker thread that owns the connection. An exception that
// escapes a handler becomes a 500 response for that request only.
#pragma once

#include "basalt/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>

namespace basalt::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request)>;

}  // namespace basalt::http
