#include "basalt/dns/wire/rr_type.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace basalt::dns {
namespace {

struct TypeName {
  RRType type;
  std::string_view name;
};

constexpr std::array kTypeNames{
    TypeName{RRType::kA, "A"},
    TypeName{RRType::kNS, "NS"},
    TypeName{RRType::kCNAME, "CNAME"},
    TypeName{RRType::kSOA, "SOA"},
    TypeName{RRType::kPTR, "PTR"},
    TypeName{RRType::kHINFO, "HINFO"},
    TypeName{RRType::kMX, "MX"},
    TypeName{RRType::kTXT, "TXT"},
    TypeName{RRType::kAAAA, "AAAA"},
    TypeName{RRType::kSRV, "SRV"},
    TypeName{RRType::kNAPTR, "NAPTR"},
    TypeName{RRType::kDNAME, "DNAME"},
    TypeName{RRType::kOPT, "OPT"},
    TypeName{RRType::kDS, "DS"},
    TypeName{RRType::kSSHFP, "SSHFP"},
    TypeName{RRType::kRRSIG, "RRSIG"},
    TypeName{RRType::kNSEC, "NSEC"},
    TypeName{RRType::kDNSKEY, "DNSKEY"},
    TypeName{RRType::kNSEC3, "NSEC3"},
    TypeName{RRType::kNSEC3PARAM, "NSEC3PARAM"},
    TypeName{RRType::kTLSA, "TLSA"},
    TypeName{RRType::kSMIMEA, "SMIMEA"},
    TypeName{RRType::kCDS, "CDS"},
    TypeName{RRType::kCDNSKEY, "CDNSKEY"},
    TypeName{RRType::kOPENPGPKEY, "OPENPGPKEY"},
    TypeName{RRType::kSVCB, "SVCB"},
    TypeName{RRType::kHTTPS, "HTTPS"},
    TypeName{RRType::kSPF, "SPF"},
    TypeName{RRType::kTKEY, "TKEY"},
    TypeName{RRType::kTSIG, "TSIG"},
    TypeName{RRType::kIXFR, "IXFR"},
    TypeName{RRType::kAXFR, "AXFR"},
    TypeName{RRType::kANY, "ANY"},
    TypeName{RRType::kURI, "URI"},
    TypeName{RRType::kCAA, "CAA"},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// Parses "<prefix><decimal 0-65535>" case-insensitively.
std::optional<std::uint16_t> prefixed_number(std::string_view text, std::string_view prefix) {
  if (text.size() <= prefix.size() || !iequals(text.substr(0, prefix.size()), prefix)) return std::nullopt;
  std::string_view digits = text.substr(prefix.size());
  if (digits.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string to_string(RRType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return std::string(t.name);
  }
  return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

std::optional<RRType> rr_type_from_string(std::string_view text) {
  for (const auto& t : kTypeNames) {
    if (iequals(t.name, text)) return t.type;
  }
  if (auto n = prefixed_number(text, "TYPE")) return static_cast<RRType>(*n);
  return std::nullopt;
}

std::string to_string(RRClass rclass) {
  switch (rclass) {
    case RRClass::kIN:
      return "IN";
    case RRClass::kCH:
      return "CH";
    case RRClass::kHS:
      return "HS";
    case RRClass::kNONE:
      return "NONE";
    case RRClass::kANY:
      return "ANY";
  }
  return "CLASS" + std::to_string(static_cast<unsigned>(rclass));
}

std::optional<RRClass> rr_class_from_string(std::string_view text) {
  static constexpr std::pair<RRClass, std::string_view> kNames[] = {
      {RRClass::kIN, "IN"}, {RRClass::kCH, "CH"},     {RRClass::kCH, "CHAOS"},
      {RRClass::kHS, "HS"}, {RRClass::kNONE, "NONE"}, {RRClass::kANY, "ANY"}};
  for (const auto& [c, name] : kNames) {
    if (iequals(name, text)) return c;
  }
  if (auto n = prefixed_number(text, "CLASS")) return static_cast<RRClass>(*n);
  return std::nullopt;
}

std::string to_string(Rcode rcode) {
  switch (rcode) {
    case Rcode::kNoError:
      return "NOERROR";
    case Rcode::kFormErr:
      return "FORMERR";
    case Rcode::kServFail:
      return "SERVFAIL";
    case Rcode::kNXDomain:
      return "NXDOMAIN";
    case Rcode::kNotImp:
      return "NOTIMP";
    case Rcode::kRefused:
      return "REFUSED";
    case Rcode::kYXDomain:
      return "YXDOMAIN";
    case Rcode::kYXRRSet:
      return "YXRRSET";
    case Rcode::kNXRRSet:
      return "NXRRSET";
    case Rcode::kNotAuth:
      return "NOTAUTH";
    case Rcode::kNotZone:
      return "NOTZONE";
    case Rcode::kBadVers:
      return "BADVERS";
    case Rcode::kBadCookie:
      return "BADCOOKIE";
  }
  return "RCODE" + std::to_string(static_cast<unsigned>(rcode));
}

std::string to_string(Opcode opcode) {
  switch (opcode) {
    case Opcode::kQuery:
      return "QUERY";
    case Opcode::kIQuery:
      return "IQUERY";
    case Opcode::kStatus:
      return "STATUS";
    case Opcode::kNotify:
      return "NOTIFY";
    case Opcode::kUpdate:
      return "UPDATE";
  }
  return "OPCODE" + std::to_string(static_cast<unsigned>(opcode));
}

bool is_meta_type(RRType type) {
  auto v = static_cast<std::uint16_t>(type);
  return type == RRType::kOPT || (v >= 128 && v <= 255);
}

}  // namespace basalt::dns
