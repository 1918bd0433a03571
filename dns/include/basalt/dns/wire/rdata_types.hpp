// Typed views of RDATA for the types code most often builds or inspects:
// SOA, MX, SRV, TXT, CAA, DS, DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, TLSA,
// plus A/AAAA and single-name types (NS, CNAME, DNAME, PTR).
//
// Each struct decodes from uncompressed RDATA (`decode`, nullopt if the
// octets are not valid for the type) and encodes back (`encode`). Use them to
// build records in code (a signer making RRSIG/NSEC, a server making SOA)
// rather than formatting text. Plain values; no exceptions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns::rdata {

struct A {
  std::array<std::uint8_t, 4> address{};
  static std::optional<A> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const A&, const A&) = default;
};

struct AAAA {
  std::array<std::uint8_t, 16> address{};
  static std::optional<AAAA> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const AAAA&, const AAAA&) = default;
};

// NS, CNAME, DNAME, PTR.
struct NameTarget {
  Name target;
  static std::optional<NameTarget> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const NameTarget&, const NameTarget&) = default;
};

struct SOA {
  Name mname, rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  static std::optional<SOA> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const SOA&, const SOA&) = default;
};

struct MX {
  std::uint16_t preference = 0;
  Name exchange;
  static std::optional<MX> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const MX&, const MX&) = default;
};

struct SRV {
  std::uint16_t priority = 0, weight = 0, port = 0;
  Name target;
  static std::optional<SRV> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const SRV&, const SRV&) = default;
};

// TXT and SPF. encode() splits strings longer than 255 octets.
struct TXT {
  std::vector<std::string> strings;
  static std::optional<TXT> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const TXT&, const TXT&) = default;
};

struct CAA {
  std::uint8_t flags = 0;
  std::string tag;
  std::string value;
  static std::optional<CAA> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const CAA&, const CAA&) = default;
};

// DS and CDS.
struct DS {
  std::uint16_t key_tag = 0;
  std::uint8_t algorithm = 0, digest_type = 0;
  Bytes digest;
  static std::optional<DS> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const DS&, const DS&) = default;
};

// DNSKEY and CDNSKEY.
struct DNSKEY {
  static constexpr std::uint16_t kZoneKey = 0x0100;
  static constexpr std::uint16_t kSecureEntryPoint = 0x0001;
  std::uint16_t flags = 0;
  std::uint8_t protocol = 3, algorithm = 0;
  Bytes public_key;
  static std::optional<DNSKEY> decode(ByteSpan rdata);
  Bytes encode() const;
  // RFC 4034 Appendix B key tag of this key's RDATA.
  std::uint16_t key_tag() const;
  friend bool operator==(const DNSKEY&, const DNSKEY&) = default;
};

struct RRSIG {
  RRType type_covered{};
  std::uint8_t algorithm = 0, labels = 0;
  std::uint32_t original_ttl = 0, expiration = 0, inception = 0;
  std::uint16_t key_tag = 0;
  Name signer;
  Bytes signature;
  static std::optional<RRSIG> decode(ByteSpan rdata);
  Bytes encode() const;
  // The RDATA without the signature (the prefix RFC 4034 §3.1.8.1 signs).
  Bytes encode_without_signature() const;
  friend bool operator==(const RRSIG&, const RRSIG&) = default;
};

// A set of types as in NSEC/NSEC3 type bitmaps, kept sorted and unique.
struct TypeBitmap {
  std::vector<RRType> types;
  static std::optional<TypeBitmap> decode(ByteSpan bitmap);
  void encode_to(Bytes& out) const;
  bool contains(RRType t) const;
  friend bool operator==(const TypeBitmap&, const TypeBitmap&) = default;
};

struct NSEC {
  Name next;
  TypeBitmap types;
  static std::optional<NSEC> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const NSEC&, const NSEC&) = default;
};

struct NSEC3PARAM {
  std::uint8_t hash_algorithm = 1, flags = 0;
  std::uint16_t iterations = 0;
  Bytes salt;
  static std::optional<NSEC3PARAM> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const NSEC3PARAM&, const NSEC3PARAM&) = default;
};

struct NSEC3 {
  static constexpr std::uint8_t kOptOut = 0x01;
  std::uint8_t hash_algorithm = 1, flags = 0;
  std::uint16_t iterations = 0;
  Bytes salt;
  Bytes next_hashed_owner;
  TypeBitmap types;
  static std::optional<NSEC3> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const NSEC3&, const NSEC3&) = default;
};

// TLSA and SMIMEA.
struct TLSA {
  std::uint8_t usage = 0, selector = 0, matching_type = 0;
  Bytes data;
  static std::optional<TLSA> decode(ByteSpan rdata);
  Bytes encode() const;
  friend bool operator==(const TLSA&, const TLSA&) = default;
};

}  // namespace basalt::dns::rdata
