// Why a DNS message (or a piece of one) could not be read from the wire.
//
// Every wire-format parser in basalt::dns returns one of these instead of
// throwing: bytes from the network are untrusted and malformed input is an
// expected outcome (answered with FORMERR and counted), not an exception.
#pragma once

#include <cstdint>
#include <string_view>

namespace basalt::dns {

enum class WireError : std::uint8_t {
  kOk = 0,
  kTruncated,     // data ends before the structure does
  kBadLabelType,  // label type 0x40/0x80 (extended / reserved)
  kBadPointer,    // compression pointer out of bounds, forward, or looping
  kNameTooLong,   // uncompressed name longer than 255 octets
  kBadRdata,      // RDATA does not match its type's format
  kRdataLength,   // RDATA shorter or longer than RDLENGTH says
  kTrailingData,  // bytes after the last record the header announces
  kBadOpt,        // OPT record not in the additional section, owner not root, or malformed options
  kDuplicateOpt,  // more than one OPT record
  kBadTsig,       // TSIG record not the last record of the message
};

// Short lowercase description, e.g. "compression pointer out of bounds or forward".
std::string_view to_string(WireError error);

}  // namespace basalt::dns
