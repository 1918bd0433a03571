// JSON Web Signatures as ACME sends them (RFC 8555 §6.2): flattened JSON
// serialization, ES256, a protected header with `alg`, `nonce`, `url` and
// either `jwk` (new-account) or `kid` (every later request); and the
// key authorization values of challenges (§8.1, §8.4).
//
// Pure functions over an AccountKey; thread-safe; throw std::runtime_error
// only when OpenSSL fails to sign.
#pragma once

#include <string>
#include <string_view>

#include "basalt/acme/account_key.hpp"

namespace basalt::acme {

struct JwsHeader {
  std::string nonce;
  std::string url;
  std::string kid;  // the account URL; empty: the key's `jwk` is embedded instead
};

// {"protected": b64u(header), "payload": b64u(payload), "signature": b64u(sig)}.
// `payload` is the JSON text to sign; an empty payload is a POST-as-GET
// (RFC 8555 §6.3: "payload": "").
std::string jws_sign(const AccountKey& key, const JwsHeader& header, std::string_view payload);

// token "." thumbprint (RFC 8555 §8.1).
std::string key_authorization(const AccountKey& key, std::string_view token);
// The TXT value of a dns-01 challenge: base64url(SHA-256(key authorization)) (§8.4).
std::string dns01_txt_value(std::string_view key_authorization);

}  // namespace basalt::acme
