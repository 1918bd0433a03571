// Fuzzes the zone-file parser. Any input must either parse or throw
// ZoneError (never crash, hang or throw anything else); every record it
// produces must have valid RDATA, and printing it as a zone line and parsing
// that again must give the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "basalt/dns/zone/zone_parser.hpp"

using namespace basalt::dns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ZoneParseOptions options;
  options.origin = *Name::from_text("example.com.");
  options.allow_include = false;  // no file system access from fuzz input
  std::vector<Record> records;
  try {
    records = parse_zone(text, options, "fuzz.zone");
  } catch (const ZoneError&) {
    return 0;
  }
  ZoneParseOptions reparse;
  reparse.allow_include = false;
  for (const auto& r : records) {
    if (!is_valid_rdata(r.type, r.rdata)) std::abort();
    std::string line = r.to_text() + "\n";
    std::vector<Record> again;
    try {
      again = parse_zone(line, reparse, "reparse.zone");
    } catch (const ZoneError& e) {
      std::abort();
    }
    if (again.size() != 1 || !(again[0] == r) || !again[0].owner.identical(r.owner)) std::abort();
  }
  return 0;
}
