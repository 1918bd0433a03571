// The JSON objects of RFC 8555 §7.1 as the client reads them: directory,
// account, order, authorization and challenge. Each parse function reads
// untrusted bytes from the CA, never throws, and returns nullopt with
// `error` naming the first member that is missing or of the wrong type
// (`order: "status" is missing`, `authorization: "challenges" is not an array`).
// Unknown members are ignored (the RFC allows extensions). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/acme/problem.hpp"

namespace basalt::acme {

struct Directory {
  std::string new_nonce, new_account, new_order;   // required
  std::string revoke_cert, key_change, new_authz;  // optional
  std::string terms_of_service;                    // meta.termsOfService
  bool external_account_required = false;          // meta.externalAccountRequired
};
std::optional<Directory> parse_directory(std::string_view body, std::string* error = nullptr);

struct Account {
  std::string status;  // valid, deactivated, revoked
};
std::optional<Account> parse_account(std::string_view body, std::string* error = nullptr);

struct Identifier {
  std::string type;   // "dns"
  std::string value;  // "example.com" (never "*." here: see Authorization::wildcard)
};

struct Order {
  std::string status;  // pending, ready, processing, valid, invalid
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;  // URLs
  std::string finalize;                     // URL
  std::string certificate;                  // URL, once valid
  std::optional<Problem> error;
};
std::optional<Order> parse_order(std::string_view body, std::string* error = nullptr);

struct Challenge {
  std::string type;  // "dns-01", "http-01", ...
  std::string url;
  std::string status;  // pending, processing, valid, invalid
  std::string token;
  std::optional<Problem> error;
};

struct Authorization {
  Identifier identifier;
  std::string status;  // pending, valid, invalid, deactivated, expired, revoked
  std::vector<Challenge> challenges;
  bool wildcard = false;
};
std::optional<Authorization> parse_authorization(std::string_view body, std::string* error = nullptr);
std::optional<Challenge> parse_challenge(std::string_view body, std::string* error = nullptr);

}  // namespace basalt::acme
