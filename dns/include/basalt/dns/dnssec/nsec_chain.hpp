// Precomputed authenticated denial for the static part of a signed zone: the
// NSEC chain (RFC 4034 §4, RFC 4035 §2.3) over the names zone data holds,
// signed once when it is built — as Knot's automatic signing does — so
// NXDOMAIN and NODATA for those names cost no signature at answer time.
//
// Handlers can make names appear anywhere their patterns reach
// (DenialRegions): there the chain says nothing, and answers keep the NSEC
// white lies of white_lies.hpp, made per query. A region's root takes part in
// the chain as a name that exists (the NSEC before it ends at it) but has no
// NSEC of its own here; the gap after the region is covered by an NSEC owned
// by white_lie_successor(root), the first name after the region's subtree.
// When handlers reach the whole zone the chain is empty.
//
// Empty non-terminals get no NSEC (as in Knot and BIND): the NSEC covering
// one has a descendant as its next name, which proves that it exists (RFC
// 4035 §3.1.3.2). Names below a zone cut (glue) are not in the chain; the cut
// is, with NS and DS in its bitmap. The apex lists DNSKEY, CDS and CDNSKEY
// (the signer serves them). The chain also holds the signatures of the SOA
// that negative answers carry.
//
// A zone signed with NSEC3 (the signer's nsec3(), RFC 5155) gets the NSEC3
// chain instead: one NSEC3 per name with data and per empty non-terminal,
// ordered by hash. Hashing scatters every subtree over the whole chain, so
// no part of it can be left to handlers: a zone any handler reaches has no
// NSEC3 chain and answers with NSEC3 white lies throughout (possible()).
//
// A DenialChain is immutable after build() and safe to read from any number
// of threads; its lookups allocate nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "basalt/dns/dnssec/nsec3.hpp"
#include "basalt/dns/dnssec/zone_signer.hpp"
#include "basalt/dns/zone/zone.hpp"

namespace basalt::dns {

// The parts of one zone that handlers can reach: the subtree of each handler
// pattern's literal suffix (`*.dyn.example.test` -> dyn.example.test and
// below; `foo*.example.test` -> the whole zone; a pattern without wildcards ->
// that name and below). A fallback handler, or a pattern without a literal
// suffix, reaches everything.
struct DenialRegions {
  bool everything = false;
  std::vector<Name> roots;  // lowercase, in canonical order, none below another

  // The regions of the zone at `apex` for patterns with these literal suffixes.
  static DenialRegions of(const Name& apex, std::span<const std::optional<Name>> suffixes, bool fallback);
  // True if `name` is at or below one of the roots (or everything is reached).
  bool contains(const Name& name) const noexcept;
  bool operator==(const DenialRegions&) const = default;
};

class DenialChain {
 public:
  // One record of the chain: an NSEC, or an NSEC3 at a hashed owner.
  struct Nsec {
    Name owner;
    std::vector<Bytes> rdata;  // the one NSEC or NSEC3 RDATA
    ZoneSigner::Signatures signatures;
  };

  // Whether a chain can answer anything for a zone with these regions and
  // signer: not when handlers reach everything, nor with NSEC3 when they
  // reach any part of the zone.
  static bool possible(const DenialRegions& regions, const ZoneSigner& signer) noexcept {
    return !regions.everything && (!signer.nsec3() || regions.roots.empty());
  }

  // Builds and signs the chain of `zone` outside `regions`, with `signer`'s
  // keys at its now(); keeps both (built_for() compares them). Returns null
  // if `stop` is requested meanwhile. Throws std::runtime_error if signing
  // fails.
  static std::shared_ptr<const DenialChain> build(std::shared_ptr<const Zone> zone, DenialRegions regions,
                                                  std::shared_ptr<const ZoneSigner> signer,
                                                  std::stop_token stop = {});

  // Whether this chain is the one for these inputs (the same objects, the same regions).
  bool built_for(const Zone& zone, const DenialRegions& regions, const ZoneSigner& signer) const noexcept {
    return &zone == zone_.get() && &signer == signer_.get() && regions == regions_;
  }
  const Zone& zone() const noexcept { return *zone_; }
  const DenialRegions& regions() const noexcept { return regions_; }
  std::uint32_t ttl() const noexcept { return ttl_; }
  // When the signatures are due to be re-made (the signer's refresh time).
  std::int64_t refresh_at() const noexcept { return refresh_at_; }
  const std::vector<Nsec>& records() const noexcept { return nsecs_; }
  // NSEC3 (the records' type, and the lookups by hash below) or NSEC.
  bool nsec3() const noexcept { return nsec3_.has_value(); }
  RRType type() const noexcept { return nsec3_ ? RRType::kNSEC3 : RRType::kNSEC; }
  const std::optional<Nsec3Params>& nsec3_params() const noexcept { return nsec3_; }
  // The RRSIGs of the zone's SOA RRset with the negative TTL (ttl()), as
  // every NXDOMAIN and NODATA of the zone carries it.
  const ZoneSigner::Signatures& negative_soa_signatures() const noexcept { return soa_signatures_; }

  // True if denial for `name` (a name of this zone) comes from the chain:
  // the chain is not empty and no region holds `name`.
  bool answers(const Name& name) const noexcept { return !nsecs_.empty() && !regions_.contains(name); }
  // NSEC chains: the NSEC whose owner is `name`, or null (always null for NSEC3).
  const Nsec* nsec_at(const Name& name) const noexcept;
  // NSEC chains: the NSEC at `name`, else the one covering it (owner < name
  // < next): the proof that a name does not exist, or that an empty
  // non-terminal does. Precondition: answers(name) and !nsec3().
  const Nsec& nsec_covering(const Name& name) const noexcept;
  // NSEC3 chains: the NSEC3 covering this hash (owner < hash < next, around
  // the end). Precondition: answers(...) and nsec3().
  const Nsec& nsec3_covering(const Nsec3Hash& hash) const noexcept;
  // NSEC3 chains, for a name that exists (empty non-terminals included):
  // its NSEC3 and the one covering `*.name` — the parts of a closest
  // encloser proof that are the same for every name below it, found without
  // hashing at answer time. nullopt if `name` has no NSEC3 here.
  struct Nsec3Encloser {
    const Nsec* matching = nullptr;
    const Nsec* wildcard_cover = nullptr;  // null if `*.name` would be too long
  };
  std::optional<Nsec3Encloser> nsec3_encloser(const Name& name) const noexcept;

 private:
  // Fills the NSEC3 records; false if `stop` was requested.
  bool build_nsec3(const Zone& zone, const ZoneSigner& signer, std::int64_t now, std::stop_token stop);

  std::shared_ptr<const Zone> zone_;
  std::shared_ptr<const ZoneSigner> signer_;
  DenialRegions regions_;
  std::uint32_t ttl_ = 0;
  std::int64_t refresh_at_ = 0;
  ZoneSigner::Signatures soa_signatures_;
  std::optional<Nsec3Params> nsec3_;
  std::vector<Nsec> nsecs_;        // in canonical order of their owners (NSEC3: of their hashes)
  std::vector<std::string> keys_;  // NSEC: the owners' canonical_key(), for memcmp lookups
  std::vector<Nsec3Hash> hashes_;  // NSEC3: the owners' hashes
  // NSEC3: the canonical_key() of every name with an NSEC3, sorted, and
  // parallel the indexes of its NSEC3 and of the one covering its wildcard.
  std::vector<std::string> names_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> enclosers_;
};

}  // namespace basalt::dns
