// Online DNSSEC signing of one zone: RRSIGs made at answer time over the
// RFC 4034 §6 canonical form, cached and reused until due for refresh.
//
// The server asks sign() for every RRset it answers with DO set. Signatures
// are kept in a sharded cache keyed by the RRset's canonical content, so an
// RRset is signed once per refresh period however often it is asked for and
// whatever case the question had; the RRSIG times are inception = now -
// `inception_offset` (clock skew) and expiration = now + `validity`, and a
// cached signature is re-made once less than `refresh` of its validity is
// left. The DNSKEY, CDS and CDNSKEY RRsets of the apex come from the keys,
// NSEC3PARAM from the NSEC3 parameters when the zone denies with NSEC3.
//
// Roles: with only key-signing keys (flags 257), each signs everything (a
// combined key). With zone-signing keys (256) too, the KSKs sign DNSKEY, CDS
// and CDNSKEY, the ZSKs the rest. Every active key of a role signs, so a
// pre-published or double-signed rollover works. Key timing metadata is read
// once, when the signer is made.
//
// Thread-safety: a ZoneSigner is shared by all worker threads; sign() locks
// one cache shard for a lookup and never while signing.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "basalt/dns/dnssec/nsec3.hpp"
#include "basalt/dns/dnssec/signing_key.hpp"
#include "basalt/dns/zone/zone.hpp"

namespace basalt::dns {

struct SignerOptions {
  std::chrono::seconds validity{std::chrono::hours(24 * 14)};
  std::chrono::seconds refresh{0};  // 0: a quarter of `validity`
  std::chrono::seconds inception_offset{std::chrono::hours(1)};
  std::uint32_t dnskey_ttl = 3600;      // DNSKEY, CDS, CDNSKEY
  std::size_t cache_entries = 200'000;  // signature sets kept; a full shard starts over
  std::function<std::int64_t()> clock;  // Unix seconds; default: the system clock
  std::optional<Nsec3Params> nsec3;     // denial with NSEC3 (nsec3.hpp); none: NSEC
};

class ZoneSigner {
 public:
  using Signatures = std::vector<Bytes>;  // RRSIG RDATAs, one per signing key

  // Throws std::invalid_argument if no key is active now.
  ZoneSigner(Name apex, std::vector<SigningKey> keys, SignerOptions options = {});
  ZoneSigner(const ZoneSigner&) = delete;
  ZoneSigner& operator=(const ZoneSigner&) = delete;

  const Name& apex() const noexcept { return apex_; }
  const std::vector<SigningKey>& keys() const noexcept { return keys_; }
  const RRset& dnskey() const noexcept { return dnskey_; }
  const RRset& cds() const noexcept { return cds_; }
  const RRset& cdnskey() const noexcept { return cdnskey_; }
  // The zone's NSEC3 parameters when its denial is NSEC3, and their
  // NSEC3PARAM RRset for the apex (empty without).
  const std::optional<Nsec3Params>& nsec3() const noexcept { return options_.nsec3; }
  const RRset& nsec3param() const noexcept { return nsec3param_; }

  // The RRSIGs of the RRset `owner`/`type`/`ttl` with these RDATAs
  // (uncompressed wire form, any order and case). For a wildcard answer pass
  // the wildcard owner (`*.example.com`): the labels field then counts the
  // labels without the `*` (RFC 4034 §3.1.3). Throws std::runtime_error only
  // if OpenSSL fails.
  std::shared_ptr<const Signatures> sign(const Name& owner, RRType type, std::uint32_t ttl,
                                         std::span<const Bytes> rdatas) const;
  // The same signatures made at `now`, bypassing the cache: for callers that
  // keep their own (the denial chain, nsec_chain.hpp).
  Signatures sign_uncached(const Name& owner, RRType type, std::uint32_t ttl, std::span<const Bytes> rdatas,
                           std::int64_t now) const;
  // When signatures made at `signed_at` are due to be re-made.
  std::int64_t refresh_at(std::int64_t signed_at) const noexcept {
    return signed_at + options_.validity.count() - options_.refresh.count();
  }

  std::int64_t now() const;
  std::size_t cached() const;
  // RRSIGs made since construction (cache misses and uncached signing).
  std::uint64_t signatures_made() const noexcept { return made_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::shared_ptr<const Signatures> signatures;
    std::int64_t refresh_at = 0;
  };
  // Looked up by string_view, so a cache hit allocates nothing.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
  };
  static constexpr std::size_t kShards = 16;

  // `canonical` holds canonical RDATAs, sorted and unique; `owner` is lowercase.
  Signatures make(const Name& owner, RRType type, std::uint32_t ttl, std::span<const ByteSpan> canonical,
                  std::int64_t t) const;

  Name apex_;
  std::vector<SigningKey> keys_;
  std::vector<const SigningKey*> ksks_, zsks_;  // the active signers of each role
  SignerOptions options_;
  RRset dnskey_, cds_, cdnskey_, nsec3param_;
  mutable std::array<Shard, kShards> shards_;
  mutable std::atomic<std::uint64_t> made_{0};
};

}  // namespace basalt::dns
