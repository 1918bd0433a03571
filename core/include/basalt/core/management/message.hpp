// The lines of the management protocol (smartrust bridge framing): one JSON
// object per line, UTF-8, newline-terminated.
//
//   request   {"id": "req_1", "method": "start", "params": {...}}
//   success   {"id": "req_1", "success": true, "result": {...}}
//   failure   {"id": "req_1", "success": false, "error": "message"}
//   chunk     {"id": "req_1", "stream": true, "data": {...}}
//   event     {"event": "name", "data": {...}}
//
// parse_request() reads bytes from a driver and never throws: anything that is
// not a well-formed request comes back as an error text to answer with (with
// the request's id when one could be read). The *_line() functions build
// outgoing lines, each ending in '\n'. All functions are thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace basalt::core::management {

struct Request {
  boost::json::value id;  // a string or a number, echoed back as received
  std::string method;
  boost::json::object params;  // {} when the request has none
};

struct ParsedLine {
  enum class Kind { request, blank, invalid };
  Kind kind = Kind::blank;
  Request request;        // kind == request
  boost::json::value id;  // kind == invalid: the id if one was readable, else null
  std::string error;      // kind == invalid: what was wrong
};

ParsedLine parse_request(std::string_view line);

std::string success_line(const boost::json::value& id, boost::json::value result);
std::string failure_line(const boost::json::value& id, std::string_view error);
std::string stream_line(const boost::json::value& id, boost::json::value data);
std::string event_line(std::string_view event, boost::json::value data);

}  // namespace basalt::core::management
