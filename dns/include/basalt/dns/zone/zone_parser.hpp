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
//
// Input is bounded: an entry (a line, or a record in parentheses with its
// comments) longer than max_entry_size is an error at its first line, files
// are read piece by piece (memory follows the longest entry, not the file),
// and zone files and $INCLUDE targets must be regular files — a FIFO, a
// device such as /dev/zero or a directory is refused without being opened
// for reading.
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
  // The longest entry in bytes: a line, or a record in parentheses with its
  // comments. RDATA is at most 65535 octets, a few hundred KB as text.
  std::size_t max_entry_size = std::size_t{1} << 20;
};

// Where a record starts: its file (the zone file or an $INCLUDEd one, named
// as in errors; valid during the callback only) and line.
struct ZonePosition {
  std::string_view file;
  std::size_t line = 0;
};

// Parses zone text. `file_name` is used in error messages and as the base
// directory of relative $INCLUDE paths. Calls `on_record` for every record,
// in file order. Throws ZoneError.
void parse_zone(std::string_view text, const ZoneParseOptions& options,
                const std::function<void(Record&&)>& on_record, std::string_view file_name = "<zone>");

// Convenience forms that collect the records.
std::vector<Record> parse_zone(std::string_view text, const ZoneParseOptions& options,
                               std::string_view file_name = "<zone>");
// Reads and parses a file; a file that cannot be read is a ZoneError without
// a line (`x.zone: cannot read the file: No such file or directory`).
std::vector<Record> parse_zone_file(const std::filesystem::path& path, const ZoneParseOptions& options);
// The same, passing each record on as it is read, with where it starts.
void parse_zone_file(const std::filesystem::path& path, const ZoneParseOptions& options,
                     const std::function<void(Record&&, const ZonePosition&)>& on_record);

}  // namespace basalt::dns
