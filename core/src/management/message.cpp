#include "basalt/core/management/message.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::core::management {
namespace {

std::string finish(boost::json::object obj) {
  std::string line = boost::json::serialize(obj);
  line += '\n';
  return line;
}

ParsedLine invalid(boost::json::value id, std::string error) {
  ParsedLine p;
  p.kind = ParsedLine::Kind::invalid;
  p.id = std::move(id);
  p.error = std::move(error);
  return p;
}

}  // namespace

ParsedLine parse_request(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (line.empty()) return {};

  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  auto doc = boost::json::parse(line, ec, {}, options);
  if (ec) return invalid(nullptr, fmt::format("malformed JSON line: {}", ec.message()));
  if (!doc.is_object()) return invalid(nullptr, "a request must be a JSON object with id, method and params");
  auto& obj = doc.get_object();

  boost::json::value id = nullptr;
  if (auto* v = obj.if_contains("id")) {
    if (!v->is_string() && !v->is_int64() && !v->is_uint64()) {
      return invalid(nullptr, "request \"id\" must be a string or an integer");
    }
    id = *v;
  } else {
    return invalid(nullptr, "request has no \"id\"");
  }

  auto* method = obj.if_contains("method");
  if (!method) return invalid(id, "request has no \"method\"");
  if (!method->is_string()) return invalid(id, "request \"method\" must be a string");

  ParsedLine p;
  p.kind = ParsedLine::Kind::request;
  p.request.id = std::move(id);
  p.request.method = std::string(method->get_string());
  if (auto* params = obj.if_contains("params"); params && !params->is_null()) {
    if (!params->is_object()) return invalid(p.request.id, "request \"params\" must be an object");
    p.request.params = std::move(params->get_object());
  }
  return p;
}

std::string success_line(const boost::json::value& id, boost::json::value result) {
  return finish({{"id", id}, {"success", true}, {"result", std::move(result)}});
}

std::string failure_line(const boost::json::value& id, std::string_view error) {
  return finish({{"id", id}, {"success", false}, {"error", error}});
}

std::string stream_line(const boost::json::value& id, boost::json::value data) {
  return finish({{"id", id}, {"stream", true}, {"data", std::move(data)}});
}

std::string event_line(std::string_view event, boost::json::value data) {
  return finish({{"event", event}, {"data", std::move(data)}});
}

}  // namespace basalt::core::management
