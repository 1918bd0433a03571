// An authoritative zone's contents, indexed for answering queries.
//
// Build a Zone from records (a parsed zone file) or from its apex alone; the
// builder checks the data as Knot's semantic checks do (records outside the
// zone, SOA elsewhere than the apex, CNAME beside other data, DNAME beside NS
// below the apex, names below a DNAME, a second DNAME, other classes than IN)
// and synthesises a missing SOA and NS where asked to (a zone declared by its
// apex alone; never for a zone file). lookup() walks the tree the
// way RFC 1034 §4.3.2 and RFC 4592 describe: exact match, zone cut
// (referral), wildcard, or no such name — with empty non-terminals existing.
//
// A Zone is immutable after build() and safe to read from any number of
// threads; servers publish new Zones through core::Snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/record.hpp"

namespace basalt::dns {

struct RRset {
  RRType type = RRType::kA;
  std::uint32_t ttl = 0;
  std::vector<Bytes> rdatas;  // uncompressed wire form, duplicates removed
};

// Address records to add to the additional section for a name in RDATA
// (NS, MX, SRV targets), resolved when the zone is built.
struct AdditionalTarget {
  Name name;
  const RRset* a = nullptr;
  const RRset* aaaa = nullptr;
};

struct ZoneNode {
  std::vector<RRset> rrsets;  // empty for an empty non-terminal
  // Parallel to rrsets: the in-zone address records of the names each RRset points to.
  std::vector<std::vector<AdditionalTarget>> additional;
  bool delegation = false;  // NS below the apex: a zone cut

  const RRset* find(RRType type) const noexcept {
    for (const auto& s : rrsets) {
      if (s.type == type) return &s;
    }
    return nullptr;
  }
  const std::vector<AdditionalTarget>* additional_for(const RRset* rrset) const noexcept {
    return rrset ? &additional[static_cast<std::size_t>(rrset - rrsets.data())] : nullptr;
  }
};

struct ZoneBuildOptions {
  // When the records have no SOA / no apex NS, make them (like smartdns):
  // primary nameserver `ns1.<apex>` unless given, serial = `serial`. For
  // zones declared by their apex alone and engine mode; load_zone_file()
  // turns it off, and a missing SOA or NS is then an error.
  bool synthesize_soa_ns = true;
  std::optional<Name> primary_nameserver;
  std::uint32_t serial = 1;
  std::uint32_t synthesized_ttl = 3600;
};

// What Zone::build() throws: the rule broken and, when one record breaks it,
// that record's index in the records given (so a zone file loader can name
// the record's file and line).
class ZoneBuildError : public std::invalid_argument {
 public:
  ZoneBuildError(const std::string& what, std::optional<std::size_t> record)
      : std::invalid_argument(what), record_(record) {}
  std::optional<std::size_t> record() const noexcept { return record_; }

 private:
  std::optional<std::size_t> record_;
};

class Zone {
 public:
  Zone() = default;
  // Movable, not copyable: nodes point at each other's RRsets.
  Zone(Zone&&) noexcept = default;
  Zone& operator=(Zone&&) noexcept = default;
  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  // Throws ZoneBuildError naming the offending record and rule.
  static Zone build(const Name& apex, std::vector<Record> records, const ZoneBuildOptions& options = {});

  const Name& apex() const noexcept { return apex_; }
  const RRset& soa() const noexcept { return *soa_; }
  std::uint32_t serial() const noexcept;
  // RFC 2308 §5: the TTL of negative answers is min(SOA TTL, SOA MINIMUM).
  std::uint32_t negative_ttl() const noexcept { return negative_ttl_; }

  enum class Match {
    kExact,       // `node` is the queried name (possibly an empty non-terminal)
    kDelegation,  // `node` is a zone cut above (or at) the name: answer with a referral
    kWildcard,    // `node` is the wildcard `*.<closest encloser>` that covers the name
    kNxdomain,    // nothing covers the name
  };
  struct Lookup {
    Match match = Match::kNxdomain;
    const ZoneNode* node = nullptr;
    Name node_name;         // the cut or wildcard owner for kDelegation / kWildcard
    Name closest_encloser;  // deepest existing ancestor (for denial and wildcards)
  };
  // Precondition: qname is at or below the apex. `qtype` matters for DS,
  // which the parent side of a cut answers.
  Lookup lookup(const Name& qname, RRType qtype) const;

  const ZoneNode* find(const Name& name) const noexcept {
    auto it = nodes_.find(name);
    return it == nodes_.end() ? nullptr : &it->second;
  }

  // Every record, SOA first (as AXFR sends it).
  std::vector<Record> records() const;
  // The same order as RRsets with their owners, pointing into this zone
  // (valid while it lives): what a transfer walks without copying records.
  std::vector<std::pair<const Name*, const RRset*>> rrsets() const;
  std::size_t node_count() const noexcept { return nodes_.size(); }
  // Calls `f(name, node)` for every name, empty non-terminals included, in no order.
  template <class F>
  void for_each_node(F&& f) const {
    for (const auto& [name, node] : nodes_) f(name, node);
  }

 private:
  Name apex_;
  std::unordered_map<Name, ZoneNode> nodes_;
  const RRset* soa_ = nullptr;
  std::uint32_t negative_ttl_ = 0;
};

// The SOA fields (RFC 1035 §3.3.13) read from uncompressed RDATA.
struct SoaFields {
  Name mname;
  Name rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  static std::optional<SoaFields> parse(ByteSpan rdata);
  Bytes to_rdata() const;
};

}  // namespace basalt::dns
