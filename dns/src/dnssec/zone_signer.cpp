#include "basalt/dns/dnssec/zone_signer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

void put16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, static_cast<std::uint16_t>(v >> 16));
  put16(s, static_cast<std::uint16_t>(v));
}

bool signed_by_ksk(RRType type) {
  return type == RRType::kDNSKEY || type == RRType::kCDS || type == RRType::kCDNSKEY;
}

}  // namespace

ZoneSigner::ZoneSigner(Name apex, std::vector<SigningKey> keys, SignerOptions options)
    : apex_(apex.lowercased()), keys_(std::move(keys)), options_(std::move(options)) {
  if (options_.refresh.count() <= 0) options_.refresh = options_.validity / 4;
  auto t = now();
  std::vector<const SigningKey*> active_zsks;
  for (const auto& k : keys_) {
    if (k.published(t)) {
      dnskey_.rdatas.push_back(k.dnskey_rdata());
      if (k.is_ksk()) {
        cdnskey_.rdatas.push_back(k.dnskey_rdata());
        cds_.rdatas.push_back(ds_rdata(apex_, k.dnskey_rdata()));
      }
    }
    if (!k.active(t)) continue;
    (k.is_ksk() ? ksks_ : active_zsks).push_back(&k);
  }
  if (ksks_.empty() && active_zsks.empty()) {
    throw std::invalid_argument(fmt::format("no active DNSSEC key for {} ({} keys, none active now)",
                                            apex_.to_string(), keys_.size()));
  }
  // Without a ZSK the KSKs sign everything (combined keys); without a KSK the ZSKs do.
  zsks_ = active_zsks.empty() ? ksks_ : active_zsks;
  if (ksks_.empty()) ksks_ = zsks_;
  dnskey_.type = RRType::kDNSKEY;
  cds_.type = RRType::kCDS;
  cdnskey_.type = RRType::kCDNSKEY;
  dnskey_.ttl = cds_.ttl = cdnskey_.ttl = options_.dnskey_ttl;
  if (options_.nsec3) {
    // TTL 0, as BIND serves it: only signers and tools ask for it.
    nsec3param_.type = RRType::kNSEC3PARAM;
    nsec3param_.rdatas.push_back(nsec3param_rdata(*options_.nsec3));
  }
}

std::int64_t ZoneSigner::now() const {
  return options_.clock ? options_.clock() : static_cast<std::int64_t>(std::time(nullptr));
}

std::size_t ZoneSigner::cached() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries.size();
  }
  return n;
}

std::shared_ptr<const ZoneSigner::Signatures> ZoneSigner::sign(const Name& owner, RRType type,
                                                               std::uint32_t ttl,
                                                               std::span<const Bytes> rdatas) const {
  // The canonical RRset (RFC 4034 §6.2, §6.3): lowercase owner, canonical
  // RDATA sorted as octet strings, duplicates removed. It is the cache key.
  // Every answer with DO comes here, nearly always to find its signatures
  // cached, so this builds the key without allocating: views of the given
  // RDATAs (copied only when one has an uppercase octet, all that
  // canonicalisation can change), sorted in place, the key in a stack buffer
  // unless it is large, looked up as a string_view.
  Name canonical_owner = owner.lowercased();
  constexpr std::size_t kInlineRdatas = 8;
  std::array<ByteSpan, kInlineRdatas> inline_views;
  std::vector<ByteSpan> heap_views;
  if (rdatas.size() > kInlineRdatas) heap_views.resize(rdatas.size());
  std::span<ByteSpan> views = rdatas.size() > kInlineRdatas ? std::span<ByteSpan>(heap_views)
                                                            : std::span(inline_views.data(), rdatas.size());
  std::vector<Bytes> lowered;  // canonical copies; reserved once so views into it stay valid
  for (std::size_t i = 0; i < rdatas.size(); ++i) {
    const Bytes& rd = rdatas[i];
    bool upper = std::any_of(rd.begin(), rd.end(), [](std::uint8_t c) { return c >= 'A' && c <= 'Z'; });
    if (upper && is_valid_rdata(type, rd)) {
      if (lowered.empty()) lowered.reserve(rdatas.size());
      canonicalize_rdata(type, lowered.emplace_back(rd));
      views[i] = lowered.back();
    } else {
      views[i] = rd;
    }
  }
  auto less = [](ByteSpan a, ByteSpan b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  };
  auto same = [](ByteSpan a, ByteSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
  std::sort(views.begin(), views.end(), less);
  views =
      views.first(static_cast<std::size_t>(std::unique(views.begin(), views.end(), same) - views.begin()));

  std::size_t key_size = 6 + canonical_owner.wire_size();
  for (auto rd : views) key_size += 2 + rd.size();
  std::array<char, 1024> key_buffer;
  std::string key_heap;
  char* key_data = key_buffer.data();
  if (key_size > key_buffer.size()) {
    key_heap.resize(key_size);
    key_data = key_heap.data();
  }
  std::size_t at = 0;
  auto key_bytes = [&](const void* p, std::size_t n) {
    if (n) std::memcpy(key_data + at, p, n);
    at += n;
  };
  auto key16 = [&](std::uint16_t v) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    key_bytes(b, 2);
  };
  key16(static_cast<std::uint16_t>(type));
  key16(static_cast<std::uint16_t>(ttl >> 16));
  key16(static_cast<std::uint16_t>(ttl));
  key_bytes(canonical_owner.wire().data(), canonical_owner.wire_size());
  for (auto rd : views) {
    key16(static_cast<std::uint16_t>(rd.size()));
    key_bytes(rd.data(), rd.size());
  }
  const std::string_view key(key_data, key_size);

  auto t = now();
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end() && t < it->second.refresh_at) return it->second.signatures;
  }

  auto signatures = std::make_shared<Signatures>(make(canonical_owner, type, ttl, views, t));

  std::lock_guard lock(shard.mutex);
  if (shard.entries.size() >= std::max<std::size_t>(1, options_.cache_entries / kShards))
    shard.entries.clear();
  Entry& e = shard.entries.try_emplace(std::string(key)).first->second;
  e.signatures = signatures;
  e.refresh_at = refresh_at(t);
  return signatures;
}

ZoneSigner::Signatures ZoneSigner::sign_uncached(const Name& owner, RRType type, std::uint32_t ttl,
                                                 std::span<const Bytes> rdatas, std::int64_t now) const {
  std::vector<Bytes> canonical(rdatas.begin(), rdatas.end());
  for (auto& rd : canonical) {
    if (is_valid_rdata(type, rd)) canonicalize_rdata(type, rd);
  }
  std::sort(canonical.begin(), canonical.end());
  canonical.erase(std::unique(canonical.begin(), canonical.end()), canonical.end());
  std::vector<ByteSpan> views(canonical.begin(), canonical.end());
  return make(owner.lowercased(), type, ttl, views, now);
}

ZoneSigner::Signatures ZoneSigner::make(const Name& owner, RRType type, std::uint32_t ttl,
                                        std::span<const ByteSpan> canonical, std::int64_t t) const {
  // Signed data: RRSIG RDATA without the signature, then each RR as
  // owner | type | class | TTL | RDLENGTH | RDATA.
  rdata::RRSIG sig;
  sig.type_covered = type;
  sig.labels = static_cast<std::uint8_t>(owner.label_count() - (owner.is_wildcard() ? 1 : 0));
  sig.original_ttl = ttl;
  sig.inception = static_cast<std::uint32_t>(t - options_.inception_offset.count());
  sig.expiration = static_cast<std::uint32_t>(t + options_.validity.count());
  sig.signer = apex_;
  std::string rrs;
  for (auto rd : canonical) {
    rrs.append(reinterpret_cast<const char*>(owner.wire().data()), owner.wire_size());
    put16(rrs, static_cast<std::uint16_t>(type));
    put16(rrs, static_cast<std::uint16_t>(RRClass::kIN));
    put32(rrs, ttl);
    put16(rrs, static_cast<std::uint16_t>(rd.size()));
    rrs.append(reinterpret_cast<const char*>(rd.data()), rd.size());
  }
  Signatures signatures;
  for (const SigningKey* k : signed_by_ksk(type) ? ksks_ : zsks_) {
    sig.algorithm = static_cast<std::uint8_t>(k->algorithm());
    sig.key_tag = k->key_tag();
    sig.signature.clear();
    Bytes data = sig.encode_without_signature();
    data.insert(data.end(), rrs.begin(), rrs.end());
    sig.signature = k->sign(data);
    signatures.push_back(sig.encode());
  }

  made_.fetch_add(signatures.size(), std::memory_order_relaxed);
  return signatures;
}

}  // namespace basalt::dns
