// SVCB/HTTPS service parameters (RFC 9460 §2.1, §7): wire validation and the
// `key=value` presentation form. Used by the RDATA layer; call directly only
// to inspect or build SvcParams yourself. Pure, thread-safe, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "basalt/dns/wire/rdata.hpp"

namespace basalt::dns {

enum class SvcParamKey : std::uint16_t {
  kMandatory = 0,
  kAlpn = 1,
  kNoDefaultAlpn = 2,
  kPort = 3,
  kIpv4Hint = 4,
  kEch = 5,
  kIpv6Hint = 6,
  kDohPath = 7,
  kOhttp = 8,
};

// "alpn", "port", ... or "key65000".
std::string to_string(SvcParamKey key);
std::optional<SvcParamKey> svc_param_key_from_string(std::string_view text);

// True if `params` is a valid SvcParams sequence: keys strictly increasing,
// lengths in bounds, and the values of the keys above well-formed.
bool svc_params_valid(ByteSpan params);

// Appends `key=value` pairs separated by spaces. Precondition: svc_params_valid.
void append_svc_params_text(std::string& out, ByteSpan params);

// Parses `key[=value]` tokens (any order; sorted on output), appending the
// wire form to `out`. Returns false and sets `*error` on failure.
bool svc_params_from_text(std::span<const TextToken> tokens, Bytes& out, std::string* error);

}  // namespace basalt::dns
