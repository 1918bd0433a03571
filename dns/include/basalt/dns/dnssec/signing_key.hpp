// One DNSSEC key: a private key that signs, its DNSKEY, and its files in
// BIND's format.
//
// Keys are kept on disk as BIND keeps them — `K<zone>.+<alg>+<tag>.key` (the
// DNSKEY record) and `.private` (`Private-key-format: v1.3`, with the
// timing metadata `Created`, `Publish`, `Activate`, `Inactive`, `Delete`) —
// so keys made by `dnssec-keygen` or `ldns-keygen` load as they are and ours
// can be used by BIND or Knot's `keymgr import-bind`. The key-signing role
// is the DNSKEY's SEP flag (257 = KSK or combined key, 256 = ZSK).
//
// A SigningKey is immutable after construction; sign() may be called from
// any number of threads at once. Each key (and its copies) keeps the OpenSSL
// state signing needs — the SHA-256 implementation fetched once and a small
// pool of contexts already initialised with the key — so a signature costs
// the signature and nothing else; a thread takes a context from the pool for
// the length of one sign() call. Failures throw std::invalid_argument (bad
// key text, naming the field) or std::runtime_error (OpenSSL failed).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "basalt/dns/dnssec/algorithm.hpp"
#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"

struct evp_pkey_st;

namespace basalt::dns {

class SigningKey {
 public:
  static constexpr std::uint16_t kZskFlags = 256;
  static constexpr std::uint16_t kKskFlags = 257;

  // BIND's timing metadata, in Unix seconds; absent = not set.
  struct Timing {
    std::optional<std::int64_t> created, publish, activate, inactive, remove;
  };

  // A new key (RSA keys are 2048 bits) with `created`, `publish` and
  // `activate` set to `now`.
  static SigningKey generate(Algorithm algorithm, std::uint16_t flags, std::int64_t now);
  // From the texts of a `.key` file (the DNSKEY record, `;` comments
  // allowed) and its `.private` file. Checks that the two belong together.
  static SigningKey from_bind(std::string_view key_text, std::string_view private_text);

  Algorithm algorithm() const noexcept { return algorithm_; }
  std::uint16_t flags() const noexcept { return flags_; }
  bool is_ksk() const noexcept { return (flags_ & 1) != 0; }
  std::uint16_t key_tag() const noexcept { return key_tag_; }
  const Bytes& dnskey_rdata() const noexcept { return dnskey_; }
  const Timing& timing() const noexcept { return timing_; }
  // In the DNSKEY RRset at `now`: after Publish, before Delete.
  bool published(std::int64_t now) const noexcept;
  // Signs at `now`: after Activate, before Inactive (and published).
  bool active(std::int64_t now) const noexcept;

  // The signature over `data` in DNSSEC's wire form (RFC 5702, RFC 6605,
  // RFC 8080): PKCS#1 v1.5 for RSA, r||s for ECDSA, the raw 64 octets for
  // Ed25519.
  Bytes sign(ByteSpan data) const;
  // The same into `out` (at least signature_size() octets); returns the
  // length written. Nothing is allocated once the key's context pool is warm.
  std::size_t sign(ByteSpan data, std::span<std::uint8_t> out) const;
  // The length of sign()'s result: 64 (ECDSA P-256, Ed25519), the modulus
  // length for RSA (256 for the keys generate() makes).
  std::size_t signature_size() const noexcept { return signature_size_; }

  // "Kexample.test.+013+12345": the files are this plus ".key" / ".private".
  std::string file_stem(const Name& zone) const;
  std::string bind_key_text(const Name& zone) const;
  std::string bind_private_text() const;

 private:
  SigningKey() = default;
  void finish();  // fills dnskey_, key_tag_ and contexts_ from pkey_

  class Contexts;  // the prepared OpenSSL state, in signing_key.cpp

  std::shared_ptr<evp_pkey_st> pkey_;
  std::shared_ptr<Contexts> contexts_;
  std::size_t signature_size_ = 0;
  Algorithm algorithm_ = kDefaultAlgorithm;
  std::uint16_t flags_ = kKskFlags;
  Bytes dnskey_;
  std::uint16_t key_tag_ = 0;
  Timing timing_;
};

// The DS RDATA (RFC 4509: SHA-256, digest type 2) of a DNSKEY owned by `zone`.
Bytes ds_rdata(const Name& zone, ByteSpan dnskey_rdata);

// BIND's timestamps: "20261201120000" (UTC) <-> Unix seconds.
std::string format_key_time(std::int64_t t);
std::optional<std::int64_t> parse_key_time(std::string_view text) noexcept;

}  // namespace basalt::dns
