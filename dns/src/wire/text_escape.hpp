// Private helpers for presentation-format strings shared by RDATA, SvcParams,
// zone files and JSON: quoting with escapes and decoding `\X` / `\DDD`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "basalt/dns/wire/rdata.hpp"

namespace basalt::dns {

// Appends `"..."` with `"` and `\` escaped and non-printable octets as \DDD.
void append_quoted_text(std::string& out, ByteSpan s);
// Decodes `\X` and `\DDD` escapes; nullopt on a dangling or out-of-range escape.
std::optional<Bytes> unescape_text(std::string_view text);

}  // namespace basalt::dns
