#include "basalt/dns/wire/rdata_layout.hpp"

#include <array>

namespace basalt::dns {
namespace {

using K = FieldKind;

constexpr FieldDesc kA[] = {{K::kIPv4, "address"}};
constexpr FieldDesc kAAAA[] = {{K::kIPv6, "address"}};
constexpr FieldDesc kNS[] = {{K::kCompressedName, "target", true}};
constexpr FieldDesc kDNAME[] = {{K::kName, "target", true}};
constexpr FieldDesc kSOA[] = {{K::kCompressedName, "mname", true},
                              {K::kCompressedName, "rname", true},
                              {K::kU32, "serial"},
                              {K::kTtl, "refresh"},
                              {K::kTtl, "retry"},
                              {K::kTtl, "expire"},
                              {K::kTtl, "minimum"}};
constexpr FieldDesc kHINFO[] = {{K::kCharString, "cpu"}, {K::kCharString, "os"}};
constexpr FieldDesc kMX[] = {{K::kU16, "preference"}, {K::kCompressedName, "exchange", true}};
constexpr FieldDesc kTXT[] = {{K::kCharStrings, "text"}};
constexpr FieldDesc kSRV[] = {
    {K::kU16, "priority"}, {K::kU16, "weight"}, {K::kU16, "port"}, {K::kName, "target", true}};
constexpr FieldDesc kNAPTR[] = {{K::kU16, "order"},         {K::kU16, "preference"},
                                {K::kCharString, "flags"},  {K::kCharString, "services"},
                                {K::kCharString, "regexp"}, {K::kName, "replacement", true}};
constexpr FieldDesc kDS[] = {
    {K::kU16, "keyTag"}, {K::kU8, "algorithm"}, {K::kU8, "digestType"}, {K::kHex, "digest"}};
constexpr FieldDesc kSSHFP[] = {{K::kU8, "algorithm"}, {K::kU8, "fingerprintType"}, {K::kHex, "fingerprint"}};
constexpr FieldDesc kRRSIG[] = {{K::kType, "typeCovered"}, {K::kU8, "algorithm"},
                                {K::kU8, "labels"},        {K::kU32, "originalTtl"},
                                {K::kTime, "expiration"},  {K::kTime, "inception"},
                                {K::kU16, "keyTag"},       {K::kPlainName, "signerName", true},
                                {K::kBase64, "signature"}};
constexpr FieldDesc kNSEC[] = {{K::kPlainName, "nextDomain"}, {K::kTypeBitmap, "types"}};
constexpr FieldDesc kDNSKEY[] = {
    {K::kU16, "flags"}, {K::kU8, "protocol"}, {K::kU8, "algorithm"}, {K::kBase64, "publicKey"}};
constexpr FieldDesc kNSEC3[] = {{K::kU8, "hashAlgorithm"},     {K::kU8, "flags"},
                                {K::kU16, "iterations"},       {K::kSalt, "salt"},
                                {K::kHash, "nextHashedOwner"}, {K::kTypeBitmap, "types"}};
constexpr FieldDesc kNSEC3PARAM[] = {
    {K::kU8, "hashAlgorithm"}, {K::kU8, "flags"}, {K::kU16, "iterations"}, {K::kSalt, "salt"}};
constexpr FieldDesc kTLSA[] = {
    {K::kU8, "usage"}, {K::kU8, "selector"}, {K::kU8, "matchingType"}, {K::kHex, "data"}};
constexpr FieldDesc kOPENPGPKEY[] = {{K::kBase64, "publicKey"}};
constexpr FieldDesc kSVCB[] = {{K::kU16, "priority"}, {K::kPlainName, "target"}, {K::kSvcParams, "params"}};
constexpr FieldDesc kURI[] = {{K::kU16, "priority"}, {K::kU16, "weight"}, {K::kUriTarget, "target"}};
constexpr FieldDesc kCAA[] = {{K::kU8, "flags"}, {K::kCaaTag, "tag"}, {K::kCaaValue, "value"}};

constexpr std::array kLayouts{
    RdataLayout{RRType::kA, kA},
    RdataLayout{RRType::kNS, kNS},
    RdataLayout{RRType::kCNAME, kNS},
    RdataLayout{RRType::kSOA, kSOA},
    RdataLayout{RRType::kPTR, kNS},
    RdataLayout{RRType::kHINFO, kHINFO},
    RdataLayout{RRType::kMX, kMX},
    RdataLayout{RRType::kTXT, kTXT},
    RdataLayout{RRType::kAAAA, kAAAA},
    RdataLayout{RRType::kSRV, kSRV},
    RdataLayout{RRType::kNAPTR, kNAPTR},
    RdataLayout{RRType::kDNAME, kDNAME},
    RdataLayout{RRType::kDS, kDS},
    RdataLayout{RRType::kSSHFP, kSSHFP},
    RdataLayout{RRType::kRRSIG, kRRSIG},
    RdataLayout{RRType::kNSEC, kNSEC},
    RdataLayout{RRType::kDNSKEY, kDNSKEY},
    RdataLayout{RRType::kNSEC3, kNSEC3},
    RdataLayout{RRType::kNSEC3PARAM, kNSEC3PARAM},
    RdataLayout{RRType::kTLSA, kTLSA},
    RdataLayout{RRType::kSMIMEA, kTLSA},
    RdataLayout{RRType::kCDS, kDS},
    RdataLayout{RRType::kCDNSKEY, kDNSKEY},
    RdataLayout{RRType::kOPENPGPKEY, kOPENPGPKEY},
    RdataLayout{RRType::kSVCB, kSVCB},
    RdataLayout{RRType::kHTTPS, kSVCB},
    RdataLayout{RRType::kSPF, kTXT},
    RdataLayout{RRType::kURI, kURI},
    RdataLayout{RRType::kCAA, kCAA},
};

// Direct index by type code for codes below 512 (all known types).
constexpr std::size_t kIndexSize = 512;
constexpr std::array<std::int8_t, kIndexSize> kIndex = [] {
  std::array<std::int8_t, kIndexSize> index{};
  for (auto& i : index) i = -1;
  for (std::size_t i = 0; i < kLayouts.size(); ++i)
    index[static_cast<std::uint16_t>(kLayouts[i].type)] = static_cast<std::int8_t>(i);
  return index;
}();

}  // namespace

const RdataLayout* rdata_layout(RRType type) noexcept {
  auto code = static_cast<std::uint16_t>(type);
  if (code >= kIndexSize || kIndex[code] < 0) return nullptr;
  return &kLayouts[static_cast<std::size_t>(kIndex[code])];
}

std::size_t plain_name_length(std::span<const std::uint8_t> rdata, std::size_t pos) noexcept {
  std::size_t start = pos;
  while (pos < rdata.size()) {
    std::uint8_t len = rdata[pos];
    if (len == 0) {
      std::size_t n = pos + 1 - start;
      return n <= 255 ? n : 0;
    }
    if (len > 63) return 0;
    pos += 1 + len;
    if (pos - start > 255) return 0;
  }
  return 0;
}

std::size_t field_length(FieldKind kind, std::span<const std::uint8_t> rdata, std::size_t pos) noexcept {
  const std::size_t rest = pos <= rdata.size() ? rdata.size() - pos : 0;
  switch (kind) {
    case K::kCompressedName:
    case K::kName:
    case K::kPlainName:
      return plain_name_length(rdata, pos);
    case K::kU8:
      return 1;
    case K::kU16:
    case K::kType:
      return 2;
    case K::kU32:
    case K::kTtl:
    case K::kTime:
    case K::kIPv4:
      return 4;
    case K::kIPv6:
      return 16;
    case K::kCharString:
    case K::kSalt:
    case K::kHash:
    case K::kCaaTag:
      return rest ? 1u + rdata[pos] : 0;
    default:
      return rest;
  }
}

}  // namespace basalt::dns
