// Field layouts of the RDATA types basalt::dns knows (the descriptor table
// that drives validation, text, JSON and canonical form). Include rdata.hpp
// rather than this; it is public only so inline helpers can walk RDATA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns {

enum class FieldKind : std::uint8_t {
  kCompressedName,  // may be compressed on the wire both ways (NS, CNAME, SOA, PTR, MX)
  kName,            // read leniently if compressed, always written uncompressed
  kPlainName,       // never compressed (RRSIG signer, NSEC next, SVCB target)
  kU8,
  kU16,
  kU32,
  kTtl,  // u32 printed as a number, parsed also as "1h30m"
  kIPv4,
  kIPv6,
  kTime,         // RRSIG timestamp, YYYYMMDDHHmmSS
  kType,         // a type code printed as mnemonic
  kCharString,   // one <character-string>
  kCharStrings,  // one or more <character-string>s to the end
  kBase64,       // rest of RDATA, base64 (may be split across tokens)
  kHex,          // rest of RDATA, hex (may be split across tokens)
  kSalt,         // u8 length + octets, hex or "-"
  kHash,         // u8 length + octets, base32hex
  kTypeBitmap,   // rest, RFC 4034 §4.1.2 windows
  kCaaTag,       // u8 length + alphanumeric tag
  kCaaValue,     // rest, printed as a quoted string
  kSvcParams,    // rest, RFC 9460 key=value list
  kUriTarget,    // rest, printed as a quoted string (URI)
};

struct FieldDesc {
  FieldKind kind;
  std::string_view name;  // JSON key (camelCase)
  bool lowercase_in_canonical = false;
};

struct RdataLayout {
  RRType type;
  std::span<const FieldDesc> fields;
};

// The layout of `type`, or nullptr for types handled as opaque data.
const RdataLayout* rdata_layout(RRType type) noexcept;

// Length of the uncompressed name at rdata[pos], 0 if invalid.
std::size_t plain_name_length(std::span<const std::uint8_t> rdata, std::size_t pos) noexcept;

// Length of the field at rdata[pos] for valid RDATA.
std::size_t field_length(FieldKind kind, std::span<const std::uint8_t> rdata, std::size_t pos) noexcept;

inline bool is_name_kind(FieldKind k) {
  return k == FieldKind::kCompressedName || k == FieldKind::kName || k == FieldKind::kPlainName;
}

template <typename Fn>
void for_each_rdata_name(RRType type, std::span<const std::uint8_t> rdata, Fn&& fn) {
  const RdataLayout* layout = rdata_layout(type);
  if (!layout) return;
  std::size_t pos = 0;
  for (const FieldDesc& f : layout->fields) {
    if (is_name_kind(f.kind)) {
      if (!fn(pos, f.kind == FieldKind::kCompressedName)) return;
    }
    std::size_t n = field_length(f.kind, rdata, pos);
    if (n == 0 && !is_name_kind(f.kind)) {
      // Rest-of-data fields are last; nothing more to visit.
      return;
    }
    pos += n;
  }
}

}  // namespace basalt::dns
