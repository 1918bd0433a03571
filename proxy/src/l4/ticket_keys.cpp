#include "l4/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>

namespace basalt::proxy {

namespace {

// One ex_data slot for all contexts (allocated on first use, never freed).
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TicketKeys::Key fresh_key(std::chrono::steady_clock::time_point now) {
  TicketKeys::Key key;
  RAND_bytes(key.name.data(), static_cast<int>(key.name.size()));
  RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size()));
  RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size()));
  key.created = now;
  return key;
}

// Fetched once: OpenSSL 3 looks a legacy EVP_aes_256_cbc() up again on every init.
const EVP_CIPHER* ticket_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

int ticket_callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                    EVP_MAC_CTX* mac, int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
  if (!keys) return 0;
  TicketKeys::Key key;
  bool newest = true;
  if (encrypt) {
    key = keys->current(std::chrono::steady_clock::now());
    std::memcpy(name, key.name.data(), key.name.size());
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
  } else if (!keys->find(name, key, newest)) {
    return 0;  // unknown key: a full handshake
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac.data(), key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  int ok = encrypt ? EVP_EncryptInit_ex(cipher, ticket_cipher(), nullptr, key.aes.data(), iv)
                   : EVP_DecryptInit_ex(cipher, ticket_cipher(), nullptr, key.aes.data(), iv);
  if (ok != 1) return -1;
  return newest ? 1 : 2;  // 2: valid, but reissue under the newest key
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::seconds rotation, std::size_t keep)
    : rotation_(rotation), keep_(keep < 1 ? 1 : keep) {
  keys_.push_back(fresh_key(std::chrono::steady_clock::now()));
}

void TicketKeys::install(ssl_ctx_st* ctx) {
  SSL_CTX_set_ex_data(ctx, context_index(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_callback);
}

TicketKeys::Key TicketKeys::current(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now - keys_.front().created >= rotation_) {
    keys_.insert(keys_.begin(), fresh_key(now));
    if (keys_.size() > keep_) keys_.resize(keep_);
  }
  return keys_.front();
}

bool TicketKeys::find(const std::uint8_t* name, Key& out, bool& newest) const {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      out = keys_[i];
      newest = i == 0;
      return true;
    }
  }
  return false;
}

}  // namespace basalt::proxy
