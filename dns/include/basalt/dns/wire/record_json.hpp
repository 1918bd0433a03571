// JSON mapping of records and RDATA, as the management protocol carries
// them: `{name, type, class, ttl, data}` with `data` shaped per type.
//
//   A, AAAA                 "192.0.2.1" / "2001:db8::1"
//   NS, CNAME, PTR, DNAME   "target.example.com" (no trailing dot on output;
//                           input names are absolute with or without it)
//   TXT, SPF                "text" if one string, ["a", "b"] if several;
//                           input strings over 255 octets are split
//   MX                      {preference, exchange}
//   SRV                     {priority, weight, port, target}
//   SOA                     {mname, rname, serial, refresh, retry, expire, minimum}
//   other known types       an object of the RDATA fields by name (e.g. DS
//                           {keyTag, algorithm, digestType, digest}); binary
//                           fields as hex (digests) or base64 (keys,
//                           signatures) like the presentation format; RRSIG
//                           times as seconds since the epoch; type bitmaps
//                           as arrays of mnemonics; SVCB/HTTPS params as
//                           their presentation string
//   unknown types           the RFC 3597 string "\# 4 0A000001"
//
// On input, `data` may also be the record's presentation-format RDATA as a
// string for any multi-field type ("10 mail.example.com."). Strings are
// mapped octet for octet (UTF-8 passes through). Functions are pure and
// thread-safe; failures are reported as nullopt plus a message, never thrown.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/record.hpp"

namespace basalt::dns {

// Precondition: is_valid_rdata(type, rdata) (invalid RDATA maps to the \# string).
boost::json::value rdata_to_json(RRType type, ByteSpan rdata);
std::optional<Bytes> rdata_from_json(RRType type, const boost::json::value& data, std::string* error);

// {name, type, class, ttl, data}; name without the trailing dot, type and
// class as mnemonics.
boost::json::object record_to_json(const Record& record);
// Accepts the same shape; `class` defaults to IN and `ttl` to `default_ttl`.
std::optional<Record> record_from_json(const boost::json::value& json, std::string* error,
                                       std::uint32_t default_ttl = 0);

}  // namespace basalt::dns
