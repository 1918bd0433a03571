// RDATA handling for every record type: validation and decompression from
// the wire, DNSSEC canonical form, presentation (zone-file) text in both
// directions, and the RFC 3597 generic form (`\# len hex`) for the rest.
//
// RDATA is kept as its uncompressed wire octets (`std::vector<uint8_t>` or a
// span). That is what a server copies into answers and what DNSSEC signs, so
// the hot path never converts; typed views of the fields live in
// rdata_types.hpp. Types with a known layout (A, AAAA, NS, CNAME, DNAME, SOA,
// PTR, HINFO, MX, TXT, SPF, SRV, NAPTR, CAA, DNSKEY, CDNSKEY, DS, CDS,
// RRSIG, NSEC, NSEC3, NSEC3PARAM, SVCB, HTTPS, TLSA, SMIMEA, SSHFP,
// OPENPGPKEY, URI) are validated field by field; every other type is opaque.
// All functions are pure and thread-safe; none throws on bad input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rr_type.hpp"
#include "basalt/dns/wire/wire_error.hpp"

namespace basalt::dns {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

// Reads the RDATA of a `type` record occupying [offset, offset + length) of
// `message`, following compression pointers in the embedded names of the
// types RFC 3597 §4 allows to be compressed (NS, CNAME, SOA, PTR, MX, plus
// SRV/DNAME/NAPTR leniently). If `out` is given the uncompressed RDATA is
// appended to it. Returns kOk or why the RDATA is malformed.
WireError read_rdata(RRType type, ByteSpan message, std::size_t offset, std::size_t length, Bytes* out);

// Validates uncompressed RDATA (no pointers allowed).
bool is_valid_rdata(RRType type, ByteSpan rdata);

// True if RDATA of this type may carry compressed names on output (RFC 3597
// §4: NS, CNAME, SOA, PTR, MX).
bool has_compressible_names(RRType type);

// for_each_rdata_name(type, rdata, fn) (from rdata_layout.hpp) calls
// `bool fn(offset, compressible)` for every domain name embedded in valid
// uncompressed `rdata`, in order, until fn returns false.

// The RFC 4034 §6.2 canonical form, as amended by RFC 6840 §5.1: embedded
// names lowercased for NS, CNAME, SOA, PTR, MX, HINFO-free name types (SRV,
// DNAME, NAPTR, RRSIG signer); NSEC next names keep their case. In place;
// precondition: is_valid_rdata(type, rdata).
void canonicalize_rdata(RRType type, std::span<std::uint8_t> rdata);

// Presentation format of valid RDATA (the part of a zone line after the type).
// Unknown types, and known types whose bytes are invalid, print as `\# len hex`.
std::string rdata_to_text(RRType type, ByteSpan rdata);

// One whitespace-separated token of RDATA text. `text` keeps its escapes;
// `quoted` says it was written in double quotes (which are removed).
struct TextToken {
  std::string_view text;
  bool quoted = false;
};

// Parses RDATA text (already split into tokens) for `type`; relative names are
// completed with `origin`. Accepts the RFC 3597 `\# len hex` form for every
// type. On failure returns nullopt and sets `*error` to what was wrong.
std::optional<Bytes> rdata_from_text(RRType type, std::span<const TextToken> tokens, const Name& origin,
                                     std::string* error);
// Convenience: tokenizes `text` (quotes, escapes; no parentheses or comments) first.
std::optional<Bytes> rdata_from_text(RRType type, std::string_view text, const Name& origin,
                                     std::string* error);

// Splits one line of RDATA text into tokens (double quotes group; backslash
// escapes kept). Returns false on an unterminated quote.
bool tokenize_rdata(std::string_view text, std::vector<TextToken>& tokens);

}  // namespace basalt::dns

#include "basalt/dns/wire/rdata_layout.hpp"  // IWYU pragma: keep (for_each_rdata_name)
