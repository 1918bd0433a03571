#include "basalt/acme/resources.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

namespace basalt::acme {
namespace {

// Reads members of one JSON object, remembering the first problem.
class Reader {
 public:
  Reader(std::string_view what, std::string_view body, std::string* error) : what_(what), error_(error) {
    boost::system::error_code ec;
    value_ = boost::json::parse(body, ec);
    if (ec) {
      fail(fmt::format("{}: the response is not JSON ({})", what_, ec.message()));
    } else if (!value_.is_object()) {
      fail(fmt::format("{}: the response is not a JSON object", what_));
    }
  }

  bool ok() const noexcept { return ok_; }
  const boost::json::object* object() const { return ok_ ? &value_.get_object() : nullptr; }

  std::string string(std::string_view key, bool required) { return string_in(object(), key, required); }

  std::string string_in(const boost::json::object* o, std::string_view key, bool required) {
    if (!o) return {};
    const auto* v = o->if_contains(key);
    if (!v) {
      if (required) fail(fmt::format("{}: \"{}\" is missing", what_, key));
      return {};
    }
    if (!v->is_string()) {
      fail(fmt::format("{}: \"{}\" is not a string", what_, key));
      return {};
    }
    return std::string(v->get_string());
  }

  const boost::json::array* array(std::string_view key, bool required) {
    const auto* o = object();
    if (!o) return nullptr;
    const auto* v = o->if_contains(key);
    if (!v) {
      if (required) fail(fmt::format("{}: \"{}\" is missing", what_, key));
      return nullptr;
    }
    if (!v->is_array()) {
      fail(fmt::format("{}: \"{}\" is not an array", what_, key));
      return nullptr;
    }
    return &v->get_array();
  }

  const boost::json::object* sub_object(const boost::json::object* o, std::string_view key, bool required) {
    if (!o) return nullptr;
    const auto* v = o->if_contains(key);
    if (!v) {
      if (required) fail(fmt::format("{}: \"{}\" is missing", what_, key));
      return nullptr;
    }
    if (!v->is_object()) {
      fail(fmt::format("{}: \"{}\" is not an object", what_, key));
      return nullptr;
    }
    return &v->get_object();
  }

  std::optional<Problem> problem(const boost::json::object* o) {
    if (!o) return std::nullopt;
    const auto* v = o->if_contains("error");
    if (!v || !v->is_object()) return std::nullopt;
    return parse_problem(boost::json::serialize(*v), 0);
  }

  void fail(std::string message) {
    if (ok_ && error_) *error_ = std::move(message);
    ok_ = false;
  }

  std::string_view what() const noexcept { return what_; }

 private:
  std::string_view what_;
  std::string* error_;
  boost::json::value value_;
  bool ok_ = true;
};

Identifier read_identifier(Reader& r, const boost::json::object* o) {
  return {r.string_in(o, "type", true), r.string_in(o, "value", true)};
}

std::optional<Challenge> read_challenge(Reader& r, const boost::json::object* o) {
  Challenge c;
  c.type = r.string_in(o, "type", true);
  c.url = r.string_in(o, "url", true);
  c.status = r.string_in(o, "status", true);
  c.token = r.string_in(o, "token", false);
  c.error = r.problem(o);
  if (!r.ok()) return std::nullopt;
  return c;
}

}  // namespace

std::optional<Directory> parse_directory(std::string_view body, std::string* error) {
  Reader r("directory", body, error);
  Directory d;
  d.new_nonce = r.string("newNonce", true);
  d.new_account = r.string("newAccount", true);
  d.new_order = r.string("newOrder", true);
  d.revoke_cert = r.string("revokeCert", false);
  d.key_change = r.string("keyChange", false);
  d.new_authz = r.string("newAuthz", false);
  if (const auto* meta = r.sub_object(r.object(), "meta", false)) {
    d.terms_of_service = r.string_in(meta, "termsOfService", false);
    if (const auto* v = meta->if_contains("externalAccountRequired"); v && v->is_bool()) {
      d.external_account_required = v->get_bool();
    }
  }
  if (!r.ok()) return std::nullopt;
  return d;
}

std::optional<Account> parse_account(std::string_view body, std::string* error) {
  Reader r("account", body, error);
  Account a{r.string("status", true)};
  if (!r.ok()) return std::nullopt;
  return a;
}

std::optional<Order> parse_order(std::string_view body, std::string* error) {
  Reader r("order", body, error);
  Order o;
  o.status = r.string("status", true);
  if (const auto* ids = r.array("identifiers", true)) {
    for (const auto& v : *ids) {
      if (!v.is_object()) {
        r.fail("order: an entry of \"identifiers\" is not an object");
        break;
      }
      o.identifiers.push_back(read_identifier(r, &v.get_object()));
    }
  }
  if (const auto* authz = r.array("authorizations", true)) {
    for (const auto& v : *authz) {
      if (!v.is_string()) {
        r.fail("order: an entry of \"authorizations\" is not a string");
        break;
      }
      o.authorizations.emplace_back(v.get_string());
    }
  }
  o.finalize = r.string("finalize", true);
  o.certificate = r.string("certificate", false);
  o.error = r.problem(r.object());
  if (!r.ok()) return std::nullopt;
  return o;
}

std::optional<Authorization> parse_authorization(std::string_view body, std::string* error) {
  Reader r("authorization", body, error);
  Authorization a;
  a.identifier = read_identifier(r, r.sub_object(r.object(), "identifier", true));
  a.status = r.string("status", true);
  if (const auto* list = r.array("challenges", true)) {
    for (const auto& v : *list) {
      if (!v.is_object()) {
        r.fail("authorization: an entry of \"challenges\" is not an object");
        break;
      }
      auto c = read_challenge(r, &v.get_object());
      if (!c) break;
      a.challenges.push_back(std::move(*c));
    }
  }
  if (const auto* o = r.object()) {
    if (const auto* w = o->if_contains("wildcard"); w && w->is_bool()) a.wildcard = w->get_bool();
  }
  if (!r.ok()) return std::nullopt;
  return a;
}

std::optional<Challenge> parse_challenge(std::string_view body, std::string* error) {
  Reader r("challenge", body, error);
  if (!r.ok()) return std::nullopt;
  return read_challenge(r, r.object());
}

}  // namespace basalt::acme
