#include "basalt/dns/zone/zone.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace basalt::dns {
namespace {

std::uint32_t read32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

void put32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Length of the uncompressed name at the start of `rdata`, or 0 if malformed.
std::size_t name_length(ByteSpan rdata) {
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    auto len = rdata[pos];
    if (len == 0) return pos + 1;
    if (len > 63) return 0;
    pos += 1 + len;
  }
  return 0;
}

// The offset of the target name in RDATA of types whose answers get
// additional address records (RFC 1035 §3.3.9/§3.3.11, RFC 2782).
std::optional<std::size_t> additional_name_offset(RRType type) {
  switch (type) {
    case RRType::kNS:
      return 0;
    case RRType::kMX:
      return 2;
    case RRType::kSRV:
      return 6;
    default:
      return std::nullopt;
  }
}

std::string describe(const Record& r) {
  return r.to_text();
}

// `record`: the index of the record that breaks the rule, if one does.
[[noreturn]] void fail(std::optional<std::size_t> record, const std::string& what) {
  throw ZoneBuildError(what, record);
}

}  // namespace

std::optional<SoaFields> SoaFields::parse(ByteSpan rdata) {
  SoaFields f;
  auto n1 = name_length(rdata);
  if (n1 == 0) return std::nullopt;
  auto n2 = name_length(rdata.subspan(n1));
  if (n2 == 0 || rdata.size() != n1 + n2 + 20) return std::nullopt;
  auto m = Name::from_wire(rdata.subspan(0, n1));
  auto r = Name::from_wire(rdata.subspan(n1, n2));
  if (!m || !r) return std::nullopt;
  f.mname = *m;
  f.rname = *r;
  const auto* p = rdata.data() + n1 + n2;
  f.serial = read32(p);
  f.refresh = read32(p + 4);
  f.retry = read32(p + 8);
  f.expire = read32(p + 12);
  f.minimum = read32(p + 16);
  return f;
}

Bytes SoaFields::to_rdata() const {
  Bytes out(mname.wire().begin(), mname.wire().end());
  out.insert(out.end(), rname.wire().begin(), rname.wire().end());
  for (auto v : {serial, refresh, retry, expire, minimum}) put32(out, v);
  return out;
}

std::uint32_t Zone::serial() const noexcept {
  const auto& rd = soa_->rdatas.front();
  return read32(rd.data() + rd.size() - 20);
}

Zone Zone::build(const Name& apex, std::vector<Record> records, const ZoneBuildOptions& options) {
  Zone z;
  z.apex_ = apex;
  z.nodes_[apex];  // the apex always exists

  // The DNAME owners, with the index of their record (RFC 6672 §2.4 checks).
  std::unordered_map<Name, std::size_t> dnames;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto& r = records[i];
    if (!r.owner.is_subdomain_of(apex)) {
      fail(i, fmt::format("{}: owner is outside the zone {}", describe(r), apex.to_string()));
    }
    if (r.rclass != RRClass::kIN) fail(i, fmt::format("{}: only class IN is served", describe(r)));
    if (r.type == RRType::kSOA && !(r.owner == apex)) {
      fail(i, fmt::format("{}: SOA is only allowed at the zone apex", describe(r)));
    }
    if (r.type == RRType::kOPT || r.type == RRType::kTSIG || r.type == RRType::kAXFR ||
        r.type == RRType::kIXFR || r.type == RRType::kANY) {
      fail(i, fmt::format("{}: this type cannot be zone data", describe(r)));
    }
    auto& node = z.nodes_[r.owner];
    auto it = std::find_if(node.rrsets.begin(), node.rrsets.end(),
                           [&](const RRset& s) { return s.type == r.type; });
    if (it == node.rrsets.end()) {
      // A new type at this name: the rules on what may stand together, checked
      // as each record arrives so that the error names the one that broke them.
      const bool at_apex = r.owner == apex;
      for (const auto& s : node.rrsets) {
        bool cname_rule = (r.type == RRType::kCNAME && s.type != RRType::kRRSIG && s.type != RRType::kNSEC) ||
                          (s.type == RRType::kCNAME && r.type != RRType::kRRSIG && r.type != RRType::kNSEC);
        if (cname_rule) {
          fail(i, fmt::format("{} has a CNAME and other data ({}) (RFC 1034 §3.6.2)", r.owner.to_string(),
                              to_string(r.type == RRType::kCNAME ? s.type : r.type)));
        }
        if (!at_apex && ((r.type == RRType::kDNAME && s.type == RRType::kNS) ||
                         (r.type == RRType::kNS && s.type == RRType::kDNAME))) {
          fail(i,
               fmt::format("{} has a DNAME and an NS record; RFC 6672 §2.3 allows that only at the zone apex",
                           r.owner.to_string()));
        }
      }
      if (r.type == RRType::kCNAME && at_apex)
        fail(i, fmt::format("{}: CNAME at the zone apex", r.owner.to_string()));
      if (r.type == RRType::kDNAME) dnames.emplace(r.owner, i);
      node.rrsets.push_back(RRset{r.type, r.ttl, {}});
      it = node.rrsets.end() - 1;
    }
    // RFC 2181 §5.2: one TTL per RRset; use the lowest, as BIND and Knot do.
    it->ttl = std::min(it->ttl, r.ttl);
    if (std::find(it->rdatas.begin(), it->rdatas.end(), r.rdata) == it->rdatas.end()) {
      if (!it->rdatas.empty()) {
        // Singleton types: one record per name (RFC 1034 §3.6.2, RFC 6672 §2.4).
        if (r.type == RRType::kCNAME)
          fail(i, fmt::format("{} has more than one CNAME record", r.owner.to_string()));
        if (r.type == RRType::kDNAME) {
          fail(i, fmt::format("{} has more than one DNAME record (RFC 6672 §2.4)", r.owner.to_string()));
        }
        if (r.type == RRType::kSOA)
          fail(i, fmt::format("zone {} has more than one SOA record", apex.to_string()));
      }
      it->rdatas.push_back(std::move(r.rdata));
    }
  }
  // RFC 6672 §2.4: no names below a DNAME. Reported at the later of the two
  // records, with the rule in the words of whichever came last.
  if (!dnames.empty()) {
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Name& owner = records[i].owner;
      for (Name a = owner; a.label_count() > apex.label_count();) {
        a = a.parent();
        auto d = dnames.find(a);
        if (d == dnames.end()) continue;
        if (d->second > i) {
          fail(d->second, fmt::format("the DNAME at {} has names below it ({}); RFC 6672 §2.4 allows none",
                                      a.to_string(), owner.to_string()));
        }
        fail(i, fmt::format("{} is below the DNAME at {}; RFC 6672 §2.4 allows no names there",
                            owner.to_string(), a.to_string()));
      }
    }
  }

  auto& apex_node = z.nodes_[apex];
  if (!apex_node.find(RRType::kSOA) || !apex_node.find(RRType::kNS)) {
    if (!options.synthesize_soa_ns) {
      fail(std::nullopt, fmt::format("no {} record at the zone apex {}",
                                     apex_node.find(RRType::kSOA) ? "NS" : "SOA", apex.to_string()));
    }
    Name ns = options.primary_nameserver ? *options.primary_nameserver : apex.prepend("ns1").value_or(apex);
    if (!apex_node.find(RRType::kSOA)) {
      SoaFields soa{ns, apex.prepend("hostmaster").value_or(apex), options.serial, 3600, 600, 604800, 300};
      apex_node.rrsets.push_back(RRset{RRType::kSOA, options.synthesized_ttl, {soa.to_rdata()}});
    }
    if (!apex_node.find(RRType::kNS)) {
      apex_node.rrsets.push_back(
          RRset{RRType::kNS, options.synthesized_ttl, {Bytes(ns.wire().begin(), ns.wire().end())}});
    }
  }

  // Per-node rules, and empty non-terminals for every ancestor up to the apex.
  std::vector<Name> owners;
  owners.reserve(z.nodes_.size());
  for (auto& [name, node] : z.nodes_) owners.push_back(name);
  for (const auto& name : owners) {
    auto& node = z.nodes_[name];
    node.delegation = !(name == apex) && node.find(RRType::kNS) != nullptr;
    for (auto parent = name; parent.label_count() > apex.label_count() + 1;) {
      parent = parent.parent();
      z.nodes_.try_emplace(parent);
    }
  }

  // Resolve additional-section targets once, now that the tree is complete.
  for (auto& [name, node] : z.nodes_) {
    node.additional.assign(node.rrsets.size(), {});
    for (std::size_t i = 0; i < node.rrsets.size(); ++i) {
      auto offset = additional_name_offset(node.rrsets[i].type);
      if (!offset) continue;
      for (const auto& rd : node.rrsets[i].rdatas) {
        if (rd.size() <= *offset) continue;
        auto target =
            Name::from_wire(ByteSpan(rd).subspan(*offset, name_length(ByteSpan(rd).subspan(*offset))));
        if (!target || !target->is_subdomain_of(apex)) continue;
        auto t = z.nodes_.find(*target);
        if (t == z.nodes_.end()) continue;
        AdditionalTarget add{*target, t->second.find(RRType::kA), t->second.find(RRType::kAAAA)};
        if (add.a || add.aaaa) node.additional[i].push_back(add);
      }
    }
  }

  z.soa_ = z.nodes_[apex].find(RRType::kSOA);
  auto soa = SoaFields::parse(z.soa_->rdatas.front());
  if (!soa) fail(std::nullopt, fmt::format("zone {}: malformed SOA", apex.to_string()));
  z.negative_ttl_ = std::min(z.soa_->ttl, soa->minimum);
  return z;
}

Zone::Lookup Zone::lookup(const Name& qname, RRType qtype) const {
  Lookup result;
  const std::size_t apex_labels = apex_.label_count();
  const std::size_t labels = qname.label_count();

  // Walk down from just below the apex: a zone cut above the name (or at it,
  // except for DS, which the parent answers) turns the answer into a referral.
  result.closest_encloser = apex_;
  for (std::size_t depth = apex_labels + 1; depth <= labels; ++depth) {
    Name ancestor = qname.parent(labels - depth);
    auto it = nodes_.find(ancestor);
    if (it == nodes_.end()) break;
    result.closest_encloser = ancestor;
    if (it->second.delegation && !(depth == labels && qtype == RRType::kDS)) {
      result.match = Match::kDelegation;
      result.node = &it->second;
      result.node_name = ancestor;
      return result;
    }
    if (depth == labels) {
      result.match = Match::kExact;
      result.node = &it->second;
      result.node_name = qname;
      return result;
    }
  }
  if (labels == apex_labels) {
    result.match = Match::kExact;
    result.node = &nodes_.find(apex_)->second;
    result.node_name = apex_;
    return result;
  }

  // RFC 4592: the source of synthesis is `*.<closest encloser>`.
  if (auto wildcard = result.closest_encloser.prepend("*")) {
    if (auto it = nodes_.find(*wildcard); it != nodes_.end()) {
      result.match = Match::kWildcard;
      result.node = &it->second;
      result.node_name = *wildcard;
      return result;
    }
  }
  result.match = Match::kNxdomain;
  return result;
}

std::vector<Record> Zone::records() const {
  std::vector<Record> out;
  for (const auto& [name, set] : rrsets()) {
    for (const auto& rd : set->rdatas) out.push_back(Record{*name, set->type, RRClass::kIN, set->ttl, rd});
  }
  return out;
}

std::vector<std::pair<const Name*, const RRset*>> Zone::rrsets() const {
  std::vector<std::pair<const Name*, const RRset*>> out;
  out.emplace_back(&apex_, soa_);
  for (const auto& [name, node] : nodes_) {
    for (const auto& s : node.rrsets) {
      if (s.type != RRType::kSOA) out.emplace_back(&name, &s);
    }
  }
  return out;
}

}  // namespace basalt::dns
