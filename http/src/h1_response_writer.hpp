// HTTP/1.x response heads: status line and header fields as wire text.
#pragma once

#include "basalt/http/message.hpp"

#include <string>

namespace basalt::http {

// The status line and fields of `response`, ending in the blank line. Adds
// Content-Length (unless the status forbids a body) and Connection; drops
// fields the handler must not set (Content-Length, Transfer-Encoding,
// Connection). With `head_request` the length is announced but no body follows.
std::string serialize_response_head(const Response& response, Version version, bool keep_alive,
                                    bool head_request);

// False for 1xx, 204 and 304, which never carry content.
bool status_has_body(int status) noexcept;

// True for HTTP/1 and HTTP/2 connection-specific fields that must not be
// forwarded or sent on HTTP/2 (RFC 9113 §8.2.2).
bool is_connection_specific(std::string_view name) noexcept;

}  // namespace basalt::http
