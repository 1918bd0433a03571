#include "basalt/acme/jws.hpp"

#include <openssl/sha.h>

#include <boost/json.hpp>

#include "basalt/core/encoding.hpp"

namespace basalt::acme {

std::string jws_sign(const AccountKey& key, const JwsHeader& header, std::string_view payload) {
  namespace json = boost::json;
  json::object protected_header;
  protected_header["alg"] = key.algorithm();
  if (header.kid.empty()) {
    protected_header["jwk"] = json::parse(key.jwk_json());
  } else {
    protected_header["kid"] = header.kid;
  }
  // The inner JWS of a key change (RFC 8555 §7.3.5) must not carry a nonce.
  if (!header.nonce.empty()) protected_header["nonce"] = header.nonce;
  protected_header["url"] = header.url;

  std::string signing_input = core::base64url_encode(core::as_bytes(json::serialize(protected_header)));
  const std::size_t protected_size = signing_input.size();
  signing_input.push_back('.');
  signing_input.append(core::base64url_encode(core::as_bytes(payload)));
  const auto signature = key.sign(core::as_bytes(signing_input));

  json::object out;
  out["protected"] = std::string_view(signing_input).substr(0, protected_size);
  out["payload"] = std::string_view(signing_input).substr(protected_size + 1);
  out["signature"] = core::base64url_encode(signature);
  return json::serialize(out);
}

std::string key_authorization(const AccountKey& key, std::string_view token) {
  std::string out(token);
  out.push_back('.');
  out.append(key.thumbprint());
  return out;
}

std::string dns01_txt_value(std::string_view key_authorization) {
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(), digest);
  return core::base64url_encode(digest);
}

}  // namespace basalt::acme
