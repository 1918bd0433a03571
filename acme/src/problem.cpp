#include "basalt/acme/problem.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

namespace basalt::acme {
namespace {

constexpr std::string_view kAcmePrefix = "urn:ietf:params:acme:error:";

std::string string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string_view Problem::short_type() const noexcept {
  std::string_view t = type;
  if (t.starts_with(kAcmePrefix)) t.remove_prefix(kAcmePrefix.size());
  return t;
}

std::string Problem::to_string() const {
  std::string out = fmt::format("HTTP {}", status);
  if (!type.empty()) out += fmt::format(", {}", short_type());
  if (!detail.empty()) out += fmt::format(": \"{}\"", detail);
  for (const auto& s : subproblems) {
    std::string_view st = s.type;
    if (st.starts_with(kAcmePrefix)) st.remove_prefix(kAcmePrefix.size());
    out += fmt::format("; {}: {}: \"{}\"", s.identifier.empty() ? "?" : s.identifier, st, s.detail);
  }
  return out;
}

std::optional<Problem> parse_problem(std::string_view body, int http_status) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  Problem p;
  p.type = string_member(o, "type");
  p.detail = string_member(o, "detail");
  p.status = http_status;
  if (const auto* s = o.if_contains("status");
      s && s->is_int64() && s->get_int64() >= 100 && s->get_int64() <= 599) {
    p.status = static_cast<int>(s->get_int64());
  }
  if (const auto* subs = o.if_contains("subproblems"); subs && subs->is_array()) {
    for (const auto& item : subs->get_array()) {
      if (!item.is_object()) continue;
      const auto& so = item.get_object();
      Subproblem sp{string_member(so, "type"), string_member(so, "detail"), {}};
      if (const auto* id = so.if_contains("identifier"); id && id->is_object()) {
        sp.identifier = string_member(id->get_object(), "value");
      }
      p.subproblems.push_back(std::move(sp));
    }
  }
  return p;
}

Error::Error(std::string step, std::string message, std::optional<Problem> problem)
    : std::runtime_error(step + ": " + message), step_(std::move(step)), problem_(std::move(problem)) {}

}  // namespace basalt::acme
