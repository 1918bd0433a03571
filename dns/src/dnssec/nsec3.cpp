#include "basalt/dns/dnssec/nsec3.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "basalt/dns/wire/base32hex.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

// SHA-1, fetched once per thread (an implicit fetch per digest costs more
// than the digest of a name), with the context reused.
struct Sha1 {
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md{EVP_MD_fetch(nullptr, "SHA1", nullptr), &EVP_MD_free};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};

  void digest(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b, Nsec3Hash& out) {
    unsigned int size = 0;
    if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md.get(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1 || size != out.size()) {
      throw std::runtime_error("NSEC3: SHA-1 failed in OpenSSL");
    }
  }
};

}  // namespace

Nsec3Hash nsec3_hash(const Name& name, const Nsec3Params& params) {
  thread_local Sha1 sha1;
  const Name lower = name.lowercased();
  Nsec3Hash h;
  sha1.digest(lower.wire(), params.salt, h);
  for (std::uint16_t i = 0; i < params.iterations; ++i) {
    const Nsec3Hash previous = h;
    sha1.digest(previous, params.salt, h);
  }
  return h;
}

Name nsec3_owner(const Nsec3Hash& hash, const Name& apex) {
  // 32 characters below an apex of at most 253 octets: a hashed owner of a
  // zone whose apex leaves no room for it cannot be signed with NSEC3.
  auto owner = apex.prepend(base32hex_encode(hash, /*lowercase=*/true));
  if (!owner)
    throw std::runtime_error("NSEC3: the apex " + apex.to_string() + " is too long for hashed owners");
  return *owner;
}

Nsec3Hash nsec3_successor(Nsec3Hash hash) noexcept {
  for (auto i = hash.size(); i-- > 0;) {
    if (++hash[i] != 0) break;
  }
  return hash;
}

Nsec3Hash nsec3_predecessor(Nsec3Hash hash) noexcept {
  for (auto i = hash.size(); i-- > 0;) {
    if (hash[i]-- != 0) break;
  }
  return hash;
}

Bytes nsec3_rdata(const Nsec3Params& params, const Nsec3Hash& next, std::vector<RRType> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  rdata::NSEC3 n;
  n.iterations = params.iterations;
  n.salt = params.salt;
  n.next_hashed_owner.assign(next.begin(), next.end());
  n.types.types = std::move(types);
  return n.encode();
}

Bytes nsec3param_rdata(const Nsec3Params& params) {
  rdata::NSEC3PARAM p;
  p.iterations = params.iterations;
  p.salt = params.salt;
  return p.encode();
}

}  // namespace basalt::dns
