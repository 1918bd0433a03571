// RFC 1035 §5 master-file ("zone file") parser.
//
// Supports `$ORIGIN`, `$TTL` (RFC 2308), `$INCLUDE file [origin]`, `@`,
// relative names, omitted owner (leading whitespace repeats the previous
// owner), omitted TTL and class (either order), parentheses across lines,
// `;` comments, quoted strings, `\X` and `\DDD` escapes, BIND-style TTL units
// (`1h30m`) and the RFC 3597 `TYPEnnn` / `\# len hex` forms. `$GENERATE` is
// not supported and is reported as an error.
//
// Use it at startup or on reload; it throws ZoneError (file:line: what) on
// the first problem and never returns a partial zone. Each call is
// independent and thread-safe; the parser keeps no global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/dns/wire/record.hpp"
#include "basalt/dns/zone/zone_error.hpp"

namespace basalt::dns {

struct ZoneParseOptions {
  // Initial $ORIGIN (relative names and `@` need one; the root by default).
  Name origin;
  // TTL for records without one before any $TTL; nullopt = such a record is
  // an error (unless it is an SOA, which then uses its MINIMUM field).
  std::optional<std::uint32_t> default_ttl;
  RRClass default_class = RRClass::kIN;
  // $INCLUDE is refused when false (e.g. for zone text received over the
  // management protocol, which must not read local files).
  bool allow_include = true;
  std::size_t max_include_depth = 8;
};

// Parses zone text. `file_name` is used in error messages and as the base
// directory of relative $INCLUDE paths. Calls `on_record` for every record,
// in file order. Throws ZoneError.
void parse_zone(std::string_view text, const ZoneParseOptions& options,
                const std::function<void(Record&&)>& on_record, std::string_view file_name = "<zone>");

// Convenience forms that collect the records.
std::vector<Record> parse_zone(std::string_view text, const ZoneParseOptions& options,
                               std::string_view file_name = "<zone>");
// Reads and parses a file; an unreadable file is a ZoneError at line 0.
std::vector<Record> parse_zone_file(const std::filesystem::path& path, const ZoneParseOptions& options);

}  // namespace basalt::dns
