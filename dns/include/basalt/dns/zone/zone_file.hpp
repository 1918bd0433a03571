// Loading a zone from a master file (RFC 1035 §5) on disk: which zone it is
// (the given apex, else the file's $ORIGIN, else its SOA owner), its records
// parsed (zone_parser.hpp) and built into a Zone. A zone file must have its
// SOA and apex NS (nothing is synthesised for it), and what Zone::build()
// refuses is reported at the file and line of the record that broke the rule.
//
// Thread-safe. Throws ZoneError naming the file (and line where there is one).
#pragma once

#include <optional>
#include <string>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/zone/zone.hpp"

namespace basalt::dns {

// Loads one zone file; the origin is `apex` if given, else the file's
// $ORIGIN, else its SOA owner (a file with neither is rejected).
// `options.synthesize_soa_ns` is ignored: a zone file without an SOA or apex
// NS is an error.
Zone load_zone_file(const std::string& path, const std::optional<Name>& apex,
                    const ZoneBuildOptions& options);

}  // namespace basalt::dns
