#include "basalt/dns/wire/rdata_types.hpp"

#include <algorithm>
#include <cstring>

#include "basalt/dns/wire/rdata_layout.hpp"

namespace basalt::dns::rdata {
namespace {

// Sequential reader over RDATA already validated for its type.
class Reader {
 public:
  explicit Reader(ByteSpan d) : d_(d) {}
  std::uint8_t u8() { return d_[pos_++]; }
  std::uint16_t u16() {
    auto v = static_cast<std::uint16_t>((d_[pos_] << 8) | d_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() {
    std::uint32_t v = (std::uint32_t{u16()} << 16);
    return v | u16();
  }
  Name name() {
    std::size_t n = plain_name_length(d_, pos_);
    Name out = *Name::from_wire(d_.subspan(pos_, n));
    pos_ += n;
    return out;
  }
  Bytes bytes(std::size_t n) {
    Bytes b(d_.begin() + static_cast<std::ptrdiff_t>(pos_),
            d_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return b;
  }
  Bytes rest() { return bytes(d_.size() - pos_); }
  ByteSpan rest_span() const { return d_.subspan(pos_); }
  std::string str(std::size_t n) {
    std::string s(reinterpret_cast<const char*>(d_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ >= d_.size(); }

 private:
  ByteSpan d_;
  std::size_t pos_ = 0;
};

class Writer {
 public:
  Writer& u8(std::uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Writer& u16(std::uint16_t v) {
    b_.push_back(static_cast<std::uint8_t>(v >> 8));
    b_.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  Writer& u32(std::uint32_t v) {
    return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
  }
  Writer& name(const Name& n) { return bytes(n.wire()); }
  Writer& bytes(ByteSpan s) {
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  Writer& str(std::string_view s) {
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes take() { return std::move(b_); }
  Bytes& buffer() { return b_; }

 private:
  Bytes b_;
};

bool valid(RRType t, ByteSpan d) {
  return is_valid_rdata(t, d);
}

}  // namespace

std::optional<A> A::decode(ByteSpan d) {
  if (!valid(RRType::kA, d)) return std::nullopt;
  A a;
  std::copy(d.begin(), d.end(), a.address.begin());
  return a;
}
Bytes A::encode() const {
  return Bytes(address.begin(), address.end());
}

std::optional<AAAA> AAAA::decode(ByteSpan d) {
  if (!valid(RRType::kAAAA, d)) return std::nullopt;
  AAAA a;
  std::copy(d.begin(), d.end(), a.address.begin());
  return a;
}
Bytes AAAA::encode() const {
  return Bytes(address.begin(), address.end());
}

std::optional<NameTarget> NameTarget::decode(ByteSpan d) {
  if (!valid(RRType::kNS, d)) return std::nullopt;
  return NameTarget{Reader(d).name()};
}
Bytes NameTarget::encode() const {
  return Bytes(target.wire().begin(), target.wire().end());
}

std::optional<SOA> SOA::decode(ByteSpan d) {
  if (!valid(RRType::kSOA, d)) return std::nullopt;
  Reader r(d);
  SOA s;
  s.mname = r.name();
  s.rname = r.name();
  s.serial = r.u32();
  s.refresh = r.u32();
  s.retry = r.u32();
  s.expire = r.u32();
  s.minimum = r.u32();
  return s;
}
Bytes SOA::encode() const {
  return Writer().name(mname).name(rname).u32(serial).u32(refresh).u32(retry).u32(expire).u32(minimum).take();
}

std::optional<MX> MX::decode(ByteSpan d) {
  if (!valid(RRType::kMX, d)) return std::nullopt;
  Reader r(d);
  MX m;
  m.preference = r.u16();
  m.exchange = r.name();
  return m;
}
Bytes MX::encode() const {
  return Writer().u16(preference).name(exchange).take();
}

std::optional<SRV> SRV::decode(ByteSpan d) {
  if (!valid(RRType::kSRV, d)) return std::nullopt;
  Reader r(d);
  SRV s;
  s.priority = r.u16();
  s.weight = r.u16();
  s.port = r.u16();
  s.target = r.name();
  return s;
}
Bytes SRV::encode() const {
  return Writer().u16(priority).u16(weight).u16(port).name(target).take();
}

std::optional<TXT> TXT::decode(ByteSpan d) {
  if (!valid(RRType::kTXT, d)) return std::nullopt;
  Reader r(d);
  TXT t;
  while (!r.done()) t.strings.push_back(r.str(r.u8()));
  return t;
}
Bytes TXT::encode() const {
  Writer w;
  if (strings.empty()) w.u8(0);
  for (const auto& s : strings) {
    std::size_t p = 0;
    do {
      std::size_t n = std::min<std::size_t>(255, s.size() - p);
      w.u8(static_cast<std::uint8_t>(n)).str(std::string_view(s).substr(p, n));
      p += n;
    } while (p < s.size());
  }
  return w.take();
}

std::optional<CAA> CAA::decode(ByteSpan d) {
  if (!valid(RRType::kCAA, d)) return std::nullopt;
  Reader r(d);
  CAA c;
  c.flags = r.u8();
  c.tag = r.str(r.u8());
  c.value = r.str(r.rest_span().size());
  return c;
}
Bytes CAA::encode() const {
  return Writer().u8(flags).u8(static_cast<std::uint8_t>(tag.size())).str(tag).str(value).take();
}

std::optional<DS> DS::decode(ByteSpan d) {
  if (!valid(RRType::kDS, d)) return std::nullopt;
  Reader r(d);
  DS s;
  s.key_tag = r.u16();
  s.algorithm = r.u8();
  s.digest_type = r.u8();
  s.digest = r.rest();
  return s;
}
Bytes DS::encode() const {
  return Writer().u16(key_tag).u8(algorithm).u8(digest_type).bytes(digest).take();
}

std::optional<DNSKEY> DNSKEY::decode(ByteSpan d) {
  if (!valid(RRType::kDNSKEY, d)) return std::nullopt;
  Reader r(d);
  DNSKEY k;
  k.flags = r.u16();
  k.protocol = r.u8();
  k.algorithm = r.u8();
  k.public_key = r.rest();
  return k;
}
Bytes DNSKEY::encode() const {
  return Writer().u16(flags).u8(protocol).u8(algorithm).bytes(public_key).take();
}
std::uint16_t DNSKEY::key_tag() const {
  Bytes wire = encode();
  std::uint32_t ac = 0;
  for (std::size_t i = 0; i < wire.size(); ++i)
    ac += (i & 1) ? wire[i] : static_cast<std::uint32_t>(wire[i]) << 8;
  ac += (ac >> 16) & 0xFFFF;
  return static_cast<std::uint16_t>(ac & 0xFFFF);
}

std::optional<RRSIG> RRSIG::decode(ByteSpan d) {
  if (!valid(RRType::kRRSIG, d)) return std::nullopt;
  Reader r(d);
  RRSIG s;
  s.type_covered = static_cast<RRType>(r.u16());
  s.algorithm = r.u8();
  s.labels = r.u8();
  s.original_ttl = r.u32();
  s.expiration = r.u32();
  s.inception = r.u32();
  s.key_tag = r.u16();
  s.signer = r.name();
  s.signature = r.rest();
  return s;
}
Bytes RRSIG::encode_without_signature() const {
  return Writer()
      .u16(static_cast<std::uint16_t>(type_covered))
      .u8(algorithm)
      .u8(labels)
      .u32(original_ttl)
      .u32(expiration)
      .u32(inception)
      .u16(key_tag)
      .name(signer)
      .take();
}
Bytes RRSIG::encode() const {
  Bytes b = encode_without_signature();
  b.insert(b.end(), signature.begin(), signature.end());
  return b;
}

std::optional<TypeBitmap> TypeBitmap::decode(ByteSpan bm) {
  TypeBitmap t;
  std::size_t pos = 0;
  int last = -1;
  while (pos < bm.size()) {
    if (bm.size() - pos < 2) return std::nullopt;
    int window = bm[pos];
    std::size_t len = bm[pos + 1];
    if (window <= last || len == 0 || len > 32 || bm.size() - pos - 2 < len) return std::nullopt;
    for (std::size_t i = 0; i < len; ++i)
      for (unsigned bit = 0; bit < 8; ++bit)
        if (bm[pos + 2 + i] & (0x80 >> bit))
          t.types.push_back(static_cast<RRType>(window * 256 + static_cast<int>(i * 8 + bit)));
    last = window;
    pos += 2 + len;
  }
  return t;
}
void TypeBitmap::encode_to(Bytes& out) const {
  std::vector<std::uint16_t> codes;
  for (auto t : types) codes.push_back(static_cast<std::uint16_t>(t));
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  std::size_t i = 0;
  while (i < codes.size()) {
    unsigned window = codes[i] >> 8;
    std::uint8_t bits[32] = {};
    std::size_t len = 0;
    for (; i < codes.size() && (codes[i] >> 8) == window; ++i) {
      unsigned low = codes[i] & 0xFF;
      bits[low / 8] |= static_cast<std::uint8_t>(0x80 >> (low % 8));
      len = low / 8 + 1;
    }
    out.push_back(static_cast<std::uint8_t>(window));
    out.push_back(static_cast<std::uint8_t>(len));
    out.insert(out.end(), bits, bits + len);
  }
}
bool TypeBitmap::contains(RRType t) const {
  return std::find(types.begin(), types.end(), t) != types.end();
}

std::optional<NSEC> NSEC::decode(ByteSpan d) {
  if (!valid(RRType::kNSEC, d)) return std::nullopt;
  Reader r(d);
  NSEC n;
  n.next = r.name();
  n.types = *TypeBitmap::decode(r.rest_span());
  return n;
}
Bytes NSEC::encode() const {
  Writer w;
  w.name(next);
  types.encode_to(w.buffer());
  return w.take();
}

std::optional<NSEC3PARAM> NSEC3PARAM::decode(ByteSpan d) {
  if (!valid(RRType::kNSEC3PARAM, d)) return std::nullopt;
  Reader r(d);
  NSEC3PARAM p;
  p.hash_algorithm = r.u8();
  p.flags = r.u8();
  p.iterations = r.u16();
  p.salt = r.bytes(r.u8());
  return p;
}
Bytes NSEC3PARAM::encode() const {
  return Writer()
      .u8(hash_algorithm)
      .u8(flags)
      .u16(iterations)
      .u8(static_cast<std::uint8_t>(salt.size()))
      .bytes(salt)
      .take();
}

std::optional<NSEC3> NSEC3::decode(ByteSpan d) {
  if (!valid(RRType::kNSEC3, d)) return std::nullopt;
  Reader r(d);
  NSEC3 n;
  n.hash_algorithm = r.u8();
  n.flags = r.u8();
  n.iterations = r.u16();
  n.salt = r.bytes(r.u8());
  n.next_hashed_owner = r.bytes(r.u8());
  n.types = *TypeBitmap::decode(r.rest_span());
  return n;
}
Bytes NSEC3::encode() const {
  Writer w;
  w.u8(hash_algorithm).u8(flags).u16(iterations).u8(static_cast<std::uint8_t>(salt.size())).bytes(salt);
  w.u8(static_cast<std::uint8_t>(next_hashed_owner.size())).bytes(next_hashed_owner);
  types.encode_to(w.buffer());
  return w.take();
}

std::optional<TLSA> TLSA::decode(ByteSpan d) {
  if (!valid(RRType::kTLSA, d)) return std::nullopt;
  Reader r(d);
  TLSA t;
  t.usage = r.u8();
  t.selector = r.u8();
  t.matching_type = r.u8();
  t.data = r.rest();
  return t;
}
Bytes TLSA::encode() const {
  return Writer().u8(usage).u8(selector).u8(matching_type).bytes(data).take();
}

}  // namespace basalt::dns::rdata
