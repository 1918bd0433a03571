// Owned questions and resource records, with RDATA as uncompressed wire
// octets (see rdata.hpp for typed access, text and canonical form).
//
// Use these to keep records beyond the life of a received buffer: zone data,
// management-protocol answers, tests. Plain value types; copying allocates
// only for the RDATA vector.
#pragma once

#include <cstdint>
#include <string>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns {

struct Question {
  Name name;
  RRType type = RRType::kA;
  RRClass rclass = RRClass::kIN;

  // "example.com. IN A"
  std::string to_text() const;
  friend bool operator==(const Question&, const Question&) = default;
};

struct Record {
  Name owner;
  RRType type = RRType::kA;
  RRClass rclass = RRClass::kIN;
  std::uint32_t ttl = 0;
  Bytes rdata;  // uncompressed wire form

  // Zone-file line: "owner TTL CLASS TYPE RDATA".
  std::string to_text() const;
  // Owner name lowercased and RDATA in canonical form (RFC 4034 §6.2).
  Record canonical() const;

  // Owner compared case-insensitively, everything else exactly.
  friend bool operator==(const Record&, const Record&) = default;
};

}  // namespace basalt::dns
