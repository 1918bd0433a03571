// The zone parser over input read piece by piece (internal to the zone
// module and its fuzzer). parse_zone_file() reads files through it; the
// fuzzer feeds it input in tiny pieces to check that reading piece by piece
// parses exactly as reading the whole text does.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns::detail {

// Fills `buffer` with up to `size` bytes and returns how many; 0 at the end
// of the input. May throw ZoneError (a read error).
using ZoneByteSource = std::function<std::size_t(char* buffer, std::size_t size)>;

// parse_zone() over `source`: the same records and errors, with memory
// bounded by options.max_entry_size rather than by the input's size.
void parse_zone_source(const ZoneByteSource& source, const ZoneParseOptions& options,
                       const std::function<void(Record&&, const ZonePosition&)>& on_record,
                       const std::string& file_name);

}  // namespace basalt::dns::detail
