#include "basalt/dns/dnssec/nsec_chain.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "basalt/dns/dnssec/nsec3.hpp"
#include "basalt/dns/dnssec/white_lies.hpp"

namespace basalt::dns {
namespace {

// One name of the chain being built: a name with data (its types), a region
// root (no NSEC of its own) or the name just after a region (NSEC and RRSIG).
struct Link {
  Name name;
  bool region_root = false;
  std::vector<RRType> types;
};

// True if a zone cut lies strictly between `apex` and `name`: `name` is glue
// or occluded, not authoritative data.
bool below_cut(const Zone& zone, const Name& name) {
  const std::size_t apex_labels = zone.apex().label_count();
  for (std::size_t k = 1; name.label_count() - k > apex_labels; ++k) {
    const ZoneNode* node = zone.find(name.parent(k));
    if (node && node->delegation) return true;
  }
  return false;
}

// The types at `name` an NSEC or NSEC3 lists, without RRSIG and NSEC.
std::vector<RRType> data_types(const Zone& zone, const Name& name, const ZoneNode& node, bool nsec3) {
  std::vector<RRType> types;
  if (node.delegation && !(name == zone.apex())) {
    // RFC 4035 §2.3: at a cut, NS and DS (if any); the rest is the child's.
    types.push_back(RRType::kNS);
    if (node.find(RRType::kDS)) types.push_back(RRType::kDS);
  } else {
    for (const auto& rr : node.rrsets) types.push_back(rr.type);
  }
  if (name == zone.apex()) {
    types.push_back(RRType::kDNSKEY);
    types.push_back(RRType::kCDS);
    types.push_back(RRType::kCDNSKEY);
    if (nsec3) types.push_back(RRType::kNSEC3PARAM);
  }
  return types;
}

// The types an NSEC at `name` lists (RRSIG and NSEC included).
std::vector<RRType> bitmap(const Zone& zone, const Name& name, const ZoneNode& node) {
  auto types = data_types(zone, name, node, false);
  types.push_back(RRType::kRRSIG);
  types.push_back(RRType::kNSEC);
  return types;
}

// The types an NSEC3 for `name` lists: RRSIG when something there is
// signed (not at an insecure delegation, whose NS is not).
std::vector<RRType> nsec3_bitmap(const Zone& zone, const Name& name, const ZoneNode& node) {
  auto types = data_types(zone, name, node, true);
  if (!(types.size() == 1 && types.front() == RRType::kNS && !(name == zone.apex())))
    types.push_back(RRType::kRRSIG);
  return types;
}

// A key whose byte order is the canonical order of names (RFC 4034 §6.1):
// the labels from the rightmost, each octet lowercased (0x00 written as
// 00 01), each label ended by 00 00 — so a shorter label, and an ancestor,
// sorts first. At most 2 * 255 octets.
constexpr std::size_t kMaxKeySize = 2 * Name::kMaxWireSize;
constexpr std::uint32_t kNone = 0xffffffffu;

std::string_view canonical_key(const Name& name, std::array<char, kMaxKeySize>& buf) noexcept {
  auto wire = name.wire();
  std::array<std::uint8_t, 128> starts;
  std::size_t labels = 0;
  for (std::size_t p = 0; wire[p] != 0; p += 1 + wire[p]) starts[labels++] = static_cast<std::uint8_t>(p);
  std::size_t n = 0;
  while (labels > 0) {
    const std::uint8_t* label = &wire[starts[--labels]];
    for (std::size_t i = 1; i <= label[0]; ++i) {
      const std::uint8_t c = ascii_lower(label[i]);
      buf[n++] = static_cast<char>(c);
      if (c == 0) buf[n++] = 1;
    }
    buf[n++] = 0;
    buf[n++] = 0;
  }
  return {buf.data(), n};
}

}  // namespace

DenialRegions DenialRegions::of(const Name& apex, std::span<const std::optional<Name>> suffixes,
                                bool fallback) {
  const DenialRegions everything{.everything = true, .roots = {}};
  if (fallback) return everything;
  DenialRegions r;
  for (const auto& suffix : suffixes) {
    if (!suffix) return everything;
    Name root = suffix->lowercased();
    if (apex.is_subdomain_of(root)) return everything;
    if (!root.is_subdomain_of(apex)) continue;  // another zone's
    // A root whose last label cannot grow has no name just after its subtree
    // (white_lie_successor falls back to a child): take its parent instead.
    while (!(root == apex) && white_lie_successor(root).is_subdomain_of(root)) root = root.parent();
    if (root == apex) return everything;
    r.roots.push_back(root);
  }
  std::sort(r.roots.begin(), r.roots.end());
  // A subtree follows its root in canonical order: drop roots below the one kept before.
  std::vector<Name> kept;
  for (auto& root : r.roots) {
    if (kept.empty() || !root.is_subdomain_of(kept.back())) kept.push_back(root);
  }
  r.roots = std::move(kept);
  return r;
}

bool DenialRegions::contains(const Name& name) const noexcept {
  if (everything) return true;
  for (const auto& root : roots) {
    if (name.is_subdomain_of(root)) return true;
  }
  return false;
}

std::shared_ptr<const DenialChain> DenialChain::build(std::shared_ptr<const Zone> zone, DenialRegions regions,
                                                      std::shared_ptr<const ZoneSigner> signer,
                                                      std::stop_token stop) {
  auto chain = std::make_shared<DenialChain>();
  const Zone& z = *zone;
  chain->ttl_ = z.negative_ttl();
  const std::int64_t now = signer->now();
  chain->refresh_at_ = signer->refresh_at(now);
  chain->soa_signatures_ = signer->sign_uncached(z.apex(), RRType::kSOA, chain->ttl_, z.soa().rdatas, now);

  if (!possible(regions, *signer)) {
    // No records: answers() is false everywhere.
  } else if (signer->nsec3()) {
    if (!chain->build_nsec3(z, *signer, now, stop)) return nullptr;
  } else {
    std::vector<Link> links;
    links.reserve(z.node_count() + 2 * regions.roots.size());
    z.for_each_node([&](const Name& name, const ZoneNode& node) {
      if (node.rrsets.empty() || regions.contains(name) || below_cut(z, name)) return;
      links.push_back({name.lowercased(), false, bitmap(z, name, node)});
    });
    for (const auto& root : regions.roots) {
      links.push_back({root, true, {}});
      // The name after the region owns the NSEC over the gap that follows
      // (unless another region starts right there).
      Name after = white_lie_successor(root);
      if (!regions.contains(after)) links.push_back({after, false, {RRType::kRRSIG, RRType::kNSEC}});
    }
    // Stable: when the name after a region has data of its own, its link
    // (pushed first) is the one kept.
    std::stable_sort(links.begin(), links.end(),
                     [](const Link& a, const Link& b) { return a.name < b.name; });
    links.erase(std::unique(links.begin(), links.end(),
                            [](const Link& a, const Link& b) { return a.name == b.name; }),
                links.end());
    chain->nsecs_.reserve(links.size());
    for (std::size_t i = 0; i < links.size(); ++i) {
      if (links[i].region_root) continue;
      if (stop.stop_requested()) return nullptr;
      const Name& next = links[(i + 1) % links.size()].name;
      Nsec nsec{links[i].name, {nsec_rdata(next, std::move(links[i].types))}, {}};
      nsec.signatures = signer->sign_uncached(nsec.owner, RRType::kNSEC, chain->ttl_, nsec.rdata, now);
      chain->nsecs_.push_back(std::move(nsec));
      std::array<char, kMaxKeySize> buf;
      chain->keys_.emplace_back(canonical_key(links[i].name, buf));
    }
  }
  chain->zone_ = std::move(zone);
  chain->signer_ = std::move(signer);
  chain->regions_ = std::move(regions);
  return chain;
}

bool DenialChain::build_nsec3(const Zone& z, const ZoneSigner& signer, std::int64_t now,
                              std::stop_token stop) {
  const Nsec3Params& params = *signer.nsec3();
  nsec3_ = params;
  // Every authoritative name with data, and every name between one and the
  // apex (empty non-terminals get an NSEC3 with an empty bitmap, RFC 5155 §7.1).
  struct Hashed {
    Nsec3Hash hash;
    Name name;
    std::vector<RRType> types;
  };
  std::vector<Hashed> hashed;
  std::vector<Name> names;
  z.for_each_node([&](const Name& name, const ZoneNode& node) {
    if (node.rrsets.empty() || below_cut(z, name)) return;
    Name lower = name.lowercased();
    hashed.push_back({nsec3_hash(lower, params), lower, nsec3_bitmap(z, name, node)});
    names.push_back(lower);
  });
  std::sort(names.begin(), names.end());
  std::vector<Name> empty_non_terminals;
  for (const auto& name : names) {
    for (Name up = name; !(up == z.apex());) {
      up = up.parent();
      if (std::binary_search(names.begin(), names.end(), up)) break;
      empty_non_terminals.push_back(up);
    }
  }
  std::sort(empty_non_terminals.begin(), empty_non_terminals.end());
  empty_non_terminals.erase(std::unique(empty_non_terminals.begin(), empty_non_terminals.end()),
                            empty_non_terminals.end());
  for (auto& ent : empty_non_terminals) hashed.push_back({nsec3_hash(ent, params), ent, {}});
  std::sort(hashed.begin(), hashed.end(), [](const Hashed& a, const Hashed& b) { return a.hash < b.hash; });
  for (std::size_t i = 1; i < hashed.size(); ++i) {
    if (hashed[i].hash == hashed[i - 1].hash) {
      throw std::runtime_error("NSEC3: " + hashed[i - 1].name.to_string() + " and " +
                               hashed[i].name.to_string() + " have the same hash; change the salt");
    }
  }
  nsecs_.reserve(hashed.size());
  hashes_.reserve(hashed.size());
  for (std::size_t i = 0; i < hashed.size(); ++i) {
    if (stop.stop_requested()) return false;
    const Nsec3Hash& next = hashed[(i + 1) % hashed.size()].hash;
    Nsec nsec{
        nsec3_owner(hashed[i].hash, z.apex()), {nsec3_rdata(params, next, std::move(hashed[i].types))}, {}};
    nsec.signatures = signer.sign_uncached(nsec.owner, RRType::kNSEC3, ttl_, nsec.rdata, now);
    nsecs_.push_back(std::move(nsec));
    hashes_.push_back(hashed[i].hash);
  }
  // Each name's own NSEC3 and its wildcard's cover, looked up by name.
  std::vector<std::pair<std::string, std::pair<std::uint32_t, std::uint32_t>>> by_name;
  by_name.reserve(hashed.size());
  for (std::size_t i = 0; i < hashed.size(); ++i) {
    std::uint32_t wildcard = kNone;
    if (auto w = hashed[i].name.prepend("*")) {
      wildcard = static_cast<std::uint32_t>(&nsec3_covering(nsec3_hash(*w, params)) - nsecs_.data());
    }
    std::array<char, kMaxKeySize> buf;
    by_name.emplace_back(std::string(canonical_key(hashed[i].name, buf)),
                         std::pair{static_cast<std::uint32_t>(i), wildcard});
  }
  std::sort(by_name.begin(), by_name.end());
  names_.reserve(by_name.size());
  enclosers_.reserve(by_name.size());
  for (auto& [key, indexes] : by_name) {
    names_.push_back(std::move(key));
    enclosers_.push_back(indexes);
  }
  return true;
}

std::optional<DenialChain::Nsec3Encloser> DenialChain::nsec3_encloser(const Name& name) const noexcept {
  std::array<char, kMaxKeySize> buf;
  auto key = canonical_key(name, buf);
  auto it = std::lower_bound(names_.begin(), names_.end(), key);
  if (it == names_.end() || *it != key) return std::nullopt;
  const auto [matching, wildcard] = enclosers_[static_cast<std::size_t>(it - names_.begin())];
  return Nsec3Encloser{&nsecs_[matching], wildcard == kNone ? nullptr : &nsecs_[wildcard]};
}

const DenialChain::Nsec& DenialChain::nsec3_covering(const Nsec3Hash& hash) const noexcept {
  auto it = std::lower_bound(hashes_.begin(), hashes_.end(), hash);
  // Before the first hash: the last NSEC3, whose next is the first, covers it.
  return it == hashes_.begin() ? nsecs_.back() : nsecs_[static_cast<std::size_t>(it - hashes_.begin()) - 1];
}

const DenialChain::Nsec* DenialChain::nsec_at(const Name& name) const noexcept {
  std::array<char, kMaxKeySize> buf;
  auto key = canonical_key(name, buf);
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  return it != keys_.end() && *it == key ? &nsecs_[static_cast<std::size_t>(it - keys_.begin())] : nullptr;
}

const DenialChain::Nsec& DenialChain::nsec_covering(const Name& name) const noexcept {
  std::array<char, kMaxKeySize> buf;
  auto key = canonical_key(name, buf);
  auto it = std::upper_bound(keys_.begin(), keys_.end(), key);
  // Every name of the zone follows the apex, the first owner.
  return it == keys_.begin() ? nsecs_.back() : nsecs_[static_cast<std::size_t>(it - keys_.begin()) - 1];
}

}  // namespace basalt::dns
