// DNS code points: record types, classes, opcodes and response codes, with
// their mnemonics (RFC 1035, RFC 3597 `TYPE123` / `CLASS3` forms).
//
// Use these instead of bare integers anywhere a type or class crosses an API.
// Values are plain 16-bit wrappers, so every code point (known or not) is
// representable; the mnemonic functions are pure, thread-safe and never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::dns {

// A record type. Any 16-bit value is valid; the named constants are the ones
// this module knows by mnemonic.
enum class RRType : std::uint16_t {
  kA = 1,
  kNS = 2,
  kCNAME = 5,
  kSOA = 6,
  kPTR = 12,
  kHINFO = 13,
  kMX = 15,
  kTXT = 16,
  kAAAA = 28,
  kSRV = 33,
  kNAPTR = 35,
  kDNAME = 39,
  kOPT = 41,
  kDS = 43,
  kSSHFP = 44,
  kRRSIG = 46,
  kNSEC = 47,
  kDNSKEY = 48,
  kNSEC3 = 50,
  kNSEC3PARAM = 51,
  kTLSA = 52,
  kSMIMEA = 53,
  kCDS = 59,
  kCDNSKEY = 60,
  kOPENPGPKEY = 61,
  kSVCB = 64,
  kHTTPS = 65,
  kSPF = 99,
  kTKEY = 249,
  kTSIG = 250,
  kIXFR = 251,
  kAXFR = 252,
  kANY = 255,
  kURI = 256,
  kCAA = 257,
};

enum class RRClass : std::uint16_t {
  kIN = 1,
  kCH = 3,
  kHS = 4,
  kNONE = 254,
  kANY = 255,
};

enum class Opcode : std::uint8_t {
  kQuery = 0,
  kIQuery = 1,
  kStatus = 2,
  kNotify = 4,
  kUpdate = 5,
};

// Response code, including the extended (EDNS) range up to 4095.
enum class Rcode : std::uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNXDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kYXDomain = 6,
  kYXRRSet = 7,
  kNXRRSet = 8,
  kNotAuth = 9,
  kNotZone = 10,
  kBadVers = 16,
  kBadCookie = 23,
};

// "A", "AAAA", ... or "TYPE65280" for types without a mnemonic.
std::string to_string(RRType type);
// Accepts mnemonics case-insensitively and the RFC 3597 "TYPEnnn" form.
std::optional<RRType> rr_type_from_string(std::string_view text);

// "IN", "CH", ... or "CLASS5".
std::string to_string(RRClass rclass);
std::optional<RRClass> rr_class_from_string(std::string_view text);

// "NOERROR", "FORMERR", ... or "RCODE12".
std::string to_string(Rcode rcode);
// "QUERY", "NOTIFY", ... or "OPCODE9".
std::string to_string(Opcode opcode);

// True for types that are meta/query-only (OPT, TSIG, TKEY, IXFR, AXFR, ANY,
// and the 128-255 range of RFC 6895) and so never appear in zone data.
bool is_meta_type(RRType type);

}  // namespace basalt::dns
