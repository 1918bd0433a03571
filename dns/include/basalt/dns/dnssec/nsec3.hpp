// NSEC3 (RFC 5155) hashing and records: the hashed owner names of a zone
// signed with NSEC3, and the RDATA of NSEC3 and NSEC3PARAM.
//
// The hash is SHA-1 (algorithm 1, the only one defined) over the
// lowercase wire form of a name and the salt, iterated `iterations` more
// times (RFC 5155 §5). RFC 9276 asks for 0 iterations and an empty salt:
// both are the defaults, and more iterations only cost the server and the
// validators CPU. Opt-out is not offered (every delegation gets its NSEC3).
//
// Also the two neighbours of a hash, for NSEC3 white lies (RFC 7129 §B.1,
// PowerDNS's "narrow" mode): `h-1 NSEC3 h+1` covers h and nothing else,
// `h NSEC3 h+1` matches h and covers nothing.
//
// Thread-safe: nsec3_hash keeps one digest context per thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns {

struct Nsec3Params {
  std::uint16_t iterations = 0;
  Bytes salt;  // at most 255 octets
  bool operator==(const Nsec3Params&) const = default;
};

using Nsec3Hash = std::array<std::uint8_t, 20>;  // SHA-1

// RFC 5155 §5: H(name | salt), then `iterations` times H(previous | salt).
// Throws std::runtime_error only if OpenSSL fails.
Nsec3Hash nsec3_hash(const Name& name, const Nsec3Params& params);
// The hashed owner name: the hash in lowercase base32hex, below `apex`.
Name nsec3_owner(const Nsec3Hash& hash, const Name& apex);
// The hash one above / one below (wrapping around).
Nsec3Hash nsec3_successor(Nsec3Hash hash) noexcept;
Nsec3Hash nsec3_predecessor(Nsec3Hash hash) noexcept;

// NSEC3 RDATA (hash algorithm 1, no flags): `next`, the type bitmap (sorted
// and made unique here).
Bytes nsec3_rdata(const Nsec3Params& params, const Nsec3Hash& next, std::vector<RRType> types);
// NSEC3PARAM RDATA for the apex (hash algorithm 1, flags 0).
Bytes nsec3param_rdata(const Nsec3Params& params);

}  // namespace basalt::dns
