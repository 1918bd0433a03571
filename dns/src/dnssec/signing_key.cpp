#include "basalt/dns/dnssec/signing_key.hpp"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

std::runtime_error openssl_error(std::string_view what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "unknown error";
  if (code) ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return std::runtime_error(fmt::format("{}: {}", what, buf));
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

BnPtr bn_from(const Bytes& b) {
  return BnPtr(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr), &BN_free);
}

Bytes bn_bytes(const BIGNUM* bn, int pad = 0) {
  Bytes out(static_cast<std::size_t>(std::max(pad, BN_num_bytes(bn))));
  BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
  return out;
}

// A key parameter as big-endian octets, left-padded with zeros to `pad`.
Bytes bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn))
    throw openssl_error(std::string("reading key parameter ") + name);
  BnPtr owned(bn, &BN_free);
  return bn_bytes(bn, pad);
}

PkeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld),
                                                                 &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()) <= 0) {
    throw openssl_error(std::string("building a ") + type + " key");
  }
  return PkeyPtr(key, &EVP_PKEY_free);
}

// P-256 key pair from the private scalar (the public point is computed).
PkeyPtr ec_key_from_private(const Bytes& scalar) {
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1),
                                                            &EC_GROUP_free);
  auto priv = bn_from(scalar);
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> pub(EC_POINT_new(group.get()), &EC_POINT_free);
  if (!group || !priv || !pub ||
      !EC_POINT_mul(group.get(), pub.get(), priv.get(), nullptr, nullptr, nullptr)) {
    throw openssl_error("computing the ECDSA public key");
  }
  unsigned char point[65];
  if (EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point, sizeof point,
                         nullptr) != sizeof point) {
    throw openssl_error("encoding the ECDSA public key");
  }
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      &OSSL_PARAM_BLD_free);
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get());
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
  return pkey_from_params("EC", bld.get());
}

// The RSA fields of a .private file, in file order, with their OpenSSL names.
struct RsaField {
  const char* bind;
  const char* openssl;
};
constexpr RsaField kRsaFields[] = {
    {"Modulus", OSSL_PKEY_PARAM_RSA_N},           {"PublicExponent", OSSL_PKEY_PARAM_RSA_E},
    {"PrivateExponent", OSSL_PKEY_PARAM_RSA_D},   {"Prime1", OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"Prime2", OSSL_PKEY_PARAM_RSA_FACTOR2},      {"Exponent1", OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {"Exponent2", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"Coefficient", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
};

constexpr std::pair<const char*, std::optional<std::int64_t> SigningKey::Timing::*> kTimingFields[] = {
    {"Created", &SigningKey::Timing::created},   {"Publish", &SigningKey::Timing::publish},
    {"Activate", &SigningKey::Timing::activate}, {"Inactive", &SigningKey::Timing::inactive},
    {"Delete", &SigningKey::Timing::remove},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::map<std::string, std::string, std::less<>> parse_private_fields(std::string_view text) {
  std::map<std::string, std::string, std::less<>> fields;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == ';') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument(fmt::format("line \"{}\" has no ':'", line));
    fields.emplace(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return fields;
}

Bytes base64_field(const std::map<std::string, std::string, std::less<>>& fields, const char* name) {
  auto it = fields.find(name);
  if (it == fields.end()) throw std::invalid_argument(fmt::format("{}: missing", name));
  auto bytes = core::base64_decode(it->second);
  if (!bytes || bytes->empty()) throw std::invalid_argument(fmt::format("{}: not base64", name));
  return *bytes;
}

// RFC 3110 §2: exponent length (1 octet, or 0 and 2 octets), exponent, modulus.
Bytes rsa_dnskey_public(const Bytes& e, const Bytes& n) {
  Bytes out;
  if (e.size() < 256) {
    out.push_back(static_cast<std::uint8_t>(e.size()));
  } else {
    out.push_back(0);
    out.push_back(static_cast<std::uint8_t>(e.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(e.size()));
  }
  out.insert(out.end(), e.begin(), e.end());
  out.insert(out.end(), n.begin(), n.end());
  return out;
}

}  // namespace

// The OpenSSL state for signing with one key, shared by the key's copies.
//
// OpenSSL 3 makes setting up a signature expensive: EVP_DigestSignInit
// looks up the digest and signature implementations by name in the
// provider store (locks, hash tables, string compares) and builds contexts
// that are freed after one use — a fifth of an ECDSA P-256 signature. Here
// SHA-256 is fetched once, and contexts initialised with the key are kept in
// a pool: ECDSA and RSA hash with a kept EVP_MD_CTX and sign the digest with
// a kept EVP_PKEY_CTX (EVP_PKEY_sign, as `openssl speed` does); Ed25519,
// which signs the message itself, keeps EVP_MD_CTXs set up by
// EVP_DigestSignInit_ex. A context serves one thread at a time: sign() takes
// one from the pool and puts it back, making a new one only when every kept
// one is in use (at most one per thread signing at once). The pool's mutex
// is held for a pop or a push, never while signing.
class SigningKey::Contexts {
 public:
  struct Slot {
    EVP_MD_CTX* md = nullptr;      // ECDSA, RSA: SHA-256; Ed25519: the DigestSign context
    EVP_PKEY_CTX* pkey = nullptr;  // ECDSA, RSA: signs the digest
  };

  Contexts(EVP_PKEY* key, Algorithm algorithm) : key_(key), algorithm_(algorithm) {
    EVP_PKEY_up_ref(key_);
    try {
      idle_.reserve(kMaxIdle);  // release() never allocates
      if (algorithm_ != Algorithm::kEd25519) {
        sha256_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (!sha256_) throw openssl_error("fetching SHA-256");
      }
      release(make());  // fails here, at load, if the key cannot sign
    } catch (...) {
      EVP_MD_free(sha256_);
      EVP_PKEY_free(key_);
      throw;
    }
  }
  ~Contexts() {
    for (auto& slot : idle_) destroy(slot);
    EVP_MD_free(sha256_);
    EVP_PKEY_free(key_);
  }
  Contexts(const Contexts&) = delete;
  Contexts& operator=(const Contexts&) = delete;

  std::size_t sign(ByteSpan data, std::span<std::uint8_t> out);

 private:
  // Idle contexts kept beyond this are freed (more threads than this signing at once).
  static constexpr std::size_t kMaxIdle = 64;

  Slot make() const {
    Slot slot;
    slot.md = EVP_MD_CTX_new();
    if (!slot.md) throw openssl_error("allocating a digest context");
    if (algorithm_ == Algorithm::kEd25519) {
      if (EVP_DigestSignInit_ex(slot.md, nullptr, nullptr, nullptr, nullptr, key_, nullptr) <= 0) {
        destroy(slot);
        throw openssl_error("starting an Ed25519 signature");
      }
      return slot;
    }
    slot.pkey = EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr);
    bool ok = slot.pkey && EVP_PKEY_sign_init(slot.pkey) > 0;
    if (ok && algorithm_ == Algorithm::kRsaSha256) {
      // PKCS#1 v1.5 over a SHA-256 DigestInfo (RFC 5702 §3).
      ok = EVP_PKEY_CTX_set_rsa_padding(slot.pkey, RSA_PKCS1_PADDING) > 0 &&
           EVP_PKEY_CTX_set_signature_md(slot.pkey, sha256_) > 0;
    }
    if (!ok) {
      destroy(slot);
      throw openssl_error("starting a signature");
    }
    return slot;
  }
  static void destroy(Slot& slot) noexcept {
    EVP_MD_CTX_free(slot.md);
    EVP_PKEY_CTX_free(slot.pkey);
    slot = {};
  }
  Slot acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        Slot slot = idle_.back();
        idle_.pop_back();
        return slot;
      }
    }
    return make();
  }
  void release(Slot slot) noexcept {
    {
      std::lock_guard lock(mutex_);
      if (idle_.size() < kMaxIdle) {
        idle_.push_back(slot);
        return;
      }
    }
    destroy(slot);
  }

  EVP_PKEY* key_;  // a reference of its own
  Algorithm algorithm_;
  EVP_MD* sha256_ = nullptr;
  std::mutex mutex_;
  std::vector<Slot> idle_;
  // Set once EVP_DigestSign refused a second use of a context (OpenSSL
  // releases that mark one-shot contexts finalised): from then on each
  // Ed25519 signature re-initialises its context first, without a key
  // argument, which fetches nothing.
  std::atomic<bool> ed25519_reinit_{false};
};

namespace {

// DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }) -> r || s, 32
// octets each (RFC 6605 §4), without the BIGNUMs d2i_ECDSA_SIG would make.
bool der_to_rs(const std::uint8_t* der, std::size_t len, std::uint8_t* out) {
  std::size_t pos = 0;
  auto read_len = [&](std::size_t& n) {
    if (pos >= len) return false;
    n = der[pos++];
    if (n == 0x81) {  // long form: ECDSA P-256 needs at most one length octet
      if (pos >= len) return false;
      n = der[pos++];
    } else if (n > 0x7f) {
      return false;
    }
    return n <= len - pos;
  };
  std::size_t n = 0;
  if (pos >= len || der[pos++] != 0x30 || !read_len(n) || pos + n != len) return false;
  for (int i = 0; i < 2; ++i) {
    if (pos >= len || der[pos++] != 0x02 || !read_len(n)) return false;
    const std::uint8_t* v = der + pos;
    pos += n;
    while (n > 0 && *v == 0) {  // the sign octet, or a non-minimal encoding
      ++v;
      --n;
    }
    if (n > 32) return false;
    std::uint8_t* dst = out + 32 * i;
    std::fill(dst, dst + 32 - n, std::uint8_t{0});
    std::copy(v, v + n, dst + 32 - n);
  }
  return pos == len;
}

}  // namespace

std::size_t SigningKey::Contexts::sign(ByteSpan data, std::span<std::uint8_t> out) {
  // Back to the pool after a signature; freed after a failure (its state is unknown).
  struct Lease {
    Contexts& pool;
    Slot slot;
    bool ok = false;
    ~Lease() {
      if (ok) {
        pool.release(slot);
      } else {
        destroy(slot);
      }
    }
  } lease{*this, acquire()};
  Slot& slot = lease.slot;

  if (algorithm_ == Algorithm::kEd25519) {
    if (ed25519_reinit_.load(std::memory_order_relaxed) &&
        EVP_DigestSignInit_ex(slot.md, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) <= 0) {
      throw openssl_error("restarting an Ed25519 signature");
    }
    std::size_t len = out.size();
    if (EVP_DigestSign(slot.md, out.data(), &len, data.data(), data.size()) > 0) {
      lease.ok = true;
      return len;
    }
    if (ed25519_reinit_.exchange(true)) throw openssl_error("signing");
    ERR_clear_error();
    len = out.size();
    if (EVP_DigestSignInit_ex(slot.md, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) <= 0 ||
        EVP_DigestSign(slot.md, out.data(), &len, data.data(), data.size()) <= 0) {
      throw openssl_error("signing");
    }
    lease.ok = true;
    return len;
  }

  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestInit_ex2(slot.md, sha256_, nullptr) <= 0 ||
      EVP_DigestUpdate(slot.md, data.data(), data.size()) <= 0 ||
      EVP_DigestFinal_ex(slot.md, digest, &digest_len) <= 0) {
    throw openssl_error("hashing");
  }
  if (algorithm_ == Algorithm::kRsaSha256) {
    std::size_t len = out.size();
    if (EVP_PKEY_sign(slot.pkey, out.data(), &len, digest, digest_len) <= 0) throw openssl_error("signing");
    lease.ok = true;
    return len;
  }
  std::uint8_t der[80];  // at most 72 octets for P-256
  std::size_t der_len = sizeof der;
  if (EVP_PKEY_sign(slot.pkey, der, &der_len, digest, digest_len) <= 0) throw openssl_error("signing");
  if (out.size() < 64 || !der_to_rs(der, der_len, out.data()))
    throw std::runtime_error("signing: OpenSSL returned an ECDSA signature that is not DER");
  lease.ok = true;
  return 64;
}

std::string format_key_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}{:02}{:02}{:02}{:02}{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<std::int64_t> parse_key_time(std::string_view text) noexcept {
  text = text.substr(0, text.find(' '));  // BIND may follow with "(Tue Dec ...)"
  if (text.size() != 14) return std::nullopt;
  int v[6];
  const int widths[6] = {4, 2, 2, 2, 2, 2};
  std::size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    int x = 0;
    for (int j = 0; j < widths[i]; ++j) {
      char c = text[pos++];
      if (c < '0' || c > '9') return std::nullopt;
      x = x * 10 + (c - '0');
    }
    v[i] = x;
  }
  if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = v[0] - 1900;
  tm.tm_mon = v[1] - 1;
  tm.tm_mday = v[2];
  tm.tm_hour = v[3];
  tm.tm_min = v[4];
  tm.tm_sec = v[5];
  return static_cast<std::int64_t>(timegm(&tm));
}

SigningKey SigningKey::generate(Algorithm algorithm, std::uint16_t flags, std::int64_t now) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case Algorithm::kEcdsaP256Sha256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Algorithm::kEd25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case Algorithm::kRsaSha256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
      break;
  }
  if (!key) throw openssl_error(fmt::format("generating a {} key", to_string(algorithm)));
  SigningKey k;
  k.pkey_.reset(key, &EVP_PKEY_free);
  k.algorithm_ = algorithm;
  k.flags_ = flags;
  k.timing_.created = k.timing_.publish = k.timing_.activate = now;
  k.finish();
  return k;
}

SigningKey SigningKey::from_bind(std::string_view key_text, std::string_view private_text) {
  // The .key file: comments, then one DNSKEY record.
  std::optional<rdata::DNSKEY> dnskey;
  for (std::string_view rest = key_text; !rest.empty();) {
    auto nl = rest.find('\n');
    auto line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    line = trim(line.substr(0, line.find(';')));  // ldns-keygen ends the record with ";{id = ...}"
    if (line.empty()) continue;
    std::vector<TextToken> tokens;
    if (!tokenize_rdata(line, tokens)) throw std::invalid_argument("key file: unterminated quote");
    std::size_t i = 0;
    while (i < tokens.size() && tokens[i].text != "DNSKEY" && tokens[i].text != "dnskey") ++i;
    if (i == tokens.size()) throw std::invalid_argument("key file: no DNSKEY record");
    std::string error;
    auto rd = rdata_from_text(RRType::kDNSKEY, std::span(tokens).subspan(i + 1), Name(), &error);
    if (!rd) throw std::invalid_argument("key file: DNSKEY: " + error);
    dnskey = rdata::DNSKEY::decode(*rd);
    break;
  }
  if (!dnskey) throw std::invalid_argument("key file: no DNSKEY record");

  auto fields = parse_private_fields(private_text);
  auto alg_it = fields.find("Algorithm");
  if (alg_it == fields.end()) throw std::invalid_argument("private file: Algorithm: missing");
  int number = std::atoi(alg_it->second.c_str());
  if (!is_supported_algorithm(static_cast<std::uint8_t>(number))) {
    throw std::invalid_argument(fmt::format("private file: Algorithm: \"{}\" is not one of 8, 13, 15 ({})",
                                            alg_it->second, kAlgorithmHelp));
  }
  SigningKey k;
  k.algorithm_ = static_cast<Algorithm>(number);
  k.flags_ = dnskey->flags;
  if (dnskey->algorithm != number) {
    throw std::invalid_argument(fmt::format("the key file's algorithm {} differs from the private file's {}",
                                            dnskey->algorithm, number));
  }
  switch (k.algorithm_) {
    case Algorithm::kEcdsaP256Sha256: {
      auto scalar = base64_field(fields, "PrivateKey");
      // 32 octets; fewer means a writer dropped leading zeros.
      if (scalar.size() > 32) throw std::invalid_argument("PrivateKey: more than 32 octets for ECDSA P-256");
      auto key = ec_key_from_private(scalar);
      k.pkey_.reset(key.release(), &EVP_PKEY_free);
      break;
    }
    case Algorithm::kEd25519: {
      auto seed = base64_field(fields, "PrivateKey");
      if (seed.size() != 32) throw std::invalid_argument("PrivateKey: not 32 octets for Ed25519");
      EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
      if (!key) throw openssl_error("loading the Ed25519 key");
      k.pkey_.reset(key, &EVP_PKEY_free);
      break;
    }
    case Algorithm::kRsaSha256: {
      std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                          &OSSL_PARAM_BLD_free);
      std::vector<BnPtr> numbers;
      for (const auto& f : kRsaFields) {
        numbers.push_back(bn_from(base64_field(fields, f.bind)));
        OSSL_PARAM_BLD_push_BN(bld.get(), f.openssl, numbers.back().get());
      }
      auto key = pkey_from_params("RSA", bld.get());
      k.pkey_.reset(key.release(), &EVP_PKEY_free);
      break;
    }
  }
  for (const auto& [name, member] : kTimingFields) {
    auto it = fields.find(name);
    if (it == fields.end()) continue;
    auto t = parse_key_time(it->second);
    if (!t) throw std::invalid_argument(fmt::format("{}: \"{}\" is not YYYYMMDDHHMMSS", name, it->second));
    k.timing_.*member = *t;
  }
  k.finish();
  if (k.dnskey_ != dnskey->encode()) {
    throw std::invalid_argument("the key file's DNSKEY is not the public half of the private file's key");
  }
  return k;
}

void SigningKey::finish() {
  rdata::DNSKEY d;
  d.flags = flags_;
  d.protocol = 3;
  d.algorithm = static_cast<std::uint8_t>(algorithm_);
  switch (algorithm_) {
    case Algorithm::kEcdsaP256Sha256: {
      unsigned char point[65];
      std::size_t len = 0;
      if (!EVP_PKEY_get_octet_string_param(pkey_.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) ||
          len != 65 || point[0] != 4) {
        throw openssl_error("reading the ECDSA public key");
      }
      d.public_key.assign(point + 1, point + 65);  // RFC 6605 §4: X || Y
      break;
    }
    case Algorithm::kEd25519: {
      d.public_key.resize(32);
      std::size_t len = 32;
      if (!EVP_PKEY_get_raw_public_key(pkey_.get(), d.public_key.data(), &len) || len != 32) {
        throw openssl_error("reading the Ed25519 public key");
      }
      break;
    }
    case Algorithm::kRsaSha256:
      d.public_key = rsa_dnskey_public(bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_E),
                                       bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_N));
      break;
  }
  dnskey_ = d.encode();
  key_tag_ = d.key_tag();
  switch (algorithm_) {
    case Algorithm::kEcdsaP256Sha256:
    case Algorithm::kEd25519:
      signature_size_ = 64;
      break;
    case Algorithm::kRsaSha256:
      signature_size_ = static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get()));
      break;
  }
  contexts_ = std::make_shared<Contexts>(pkey_.get(), algorithm_);
}

bool SigningKey::published(std::int64_t now) const noexcept {
  return (!timing_.publish || *timing_.publish <= now) && (!timing_.remove || now < *timing_.remove);
}

bool SigningKey::active(std::int64_t now) const noexcept {
  return published(now) && (!timing_.activate || *timing_.activate <= now) &&
         (!timing_.inactive || now < *timing_.inactive);
}

std::size_t SigningKey::sign(ByteSpan data, std::span<std::uint8_t> out) const {
  if (out.size() < signature_size_) throw std::invalid_argument("signing: output buffer too small");
  return contexts_->sign(data, out);
}

Bytes SigningKey::sign(ByteSpan data) const {
  Bytes sig(signature_size_);
  sig.resize(sign(data, sig));
  return sig;
}

std::string SigningKey::file_stem(const Name& zone) const {
  return fmt::format("K{}+{:03}+{:05}", zone.lowercased().to_string(), static_cast<int>(algorithm_),
                     key_tag_);
}

std::string SigningKey::bind_key_text(const Name& zone) const {
  std::string out =
      fmt::format("; This is a {} key, keyid {}, for {}\n", is_ksk() ? "key-signing" : "zone-signing",
                  key_tag_, zone.lowercased().to_string());
  if (timing_.created) out += "; Created: " + format_key_time(*timing_.created) + "\n";
  out += fmt::format("{} IN DNSKEY {}\n", zone.lowercased().to_string(),
                     rdata_to_text(RRType::kDNSKEY, dnskey_));
  return out;
}

std::string SigningKey::bind_private_text() const {
  std::string out = "Private-key-format: v1.3\n";
  out += fmt::format("Algorithm: {} ({})\n", static_cast<int>(algorithm_), mnemonic(algorithm_));
  switch (algorithm_) {
    case Algorithm::kEcdsaP256Sha256:
      // Always 32 octets, as BIND writes it, even when the scalar starts with zeros.
      out += "PrivateKey: " + core::base64_encode(bn_param(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32)) + "\n";
      break;
    case Algorithm::kEd25519: {
      Bytes seed(32);
      std::size_t len = 32;
      if (!EVP_PKEY_get_raw_private_key(pkey_.get(), seed.data(), &len) || len != 32) {
        throw openssl_error("reading the Ed25519 private key");
      }
      out += "PrivateKey: " + core::base64_encode(seed) + "\n";
      break;
    }
    case Algorithm::kRsaSha256:
      for (const auto& f : kRsaFields) {
        out += fmt::format("{}: {}\n", f.bind, core::base64_encode(bn_param(pkey_.get(), f.openssl)));
      }
      break;
  }
  for (const auto& [name, member] : kTimingFields) {
    if (auto t = timing_.*member) out += fmt::format("{}: {}\n", name, format_key_time(*t));
  }
  return out;
}

Bytes ds_rdata(const Name& zone, ByteSpan dnskey_rdata) {
  auto owner = zone.lowercased();
  Bytes data(owner.wire().begin(), owner.wire().end());
  data.insert(data.end(), dnskey_rdata.begin(), dnskey_rdata.end());
  rdata::DS ds;
  auto key = rdata::DNSKEY::decode(dnskey_rdata);
  ds.key_tag = key ? key->key_tag() : 0;
  ds.algorithm = key ? key->algorithm : 0;
  ds.digest_type = 2;
  ds.digest.resize(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), ds.digest.data());
  return ds.encode();
}

}  // namespace basalt::dns
