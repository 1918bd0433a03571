// Fuzzes the zone-file parser. Any input must either parse or throw
// ZoneError (never crash, hang or throw anything else); every record it
// produces must have valid RDATA, and printing it as a zone line and parsing
// that again must give the same record.
//
// Files are read piece by piece, so the input is also fed in pieces of 1-8
// bytes (the first byte picks the size) and must give the same records, or
// fail too — with the same message, unless one of the two stopped at the
// entry size limit, which reading in pieces can notice earlier. A second
// round uses a small limit so that the limit's paths are reached.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/dns/zone/zone_parser.hpp"
#include "zone/zone_source.hpp"

using namespace basalt::dns;

namespace {

struct Outcome {
  std::vector<Record> records;
  std::vector<std::size_t> lines;
  std::optional<std::string> error;
};

bool is_limit_error(const std::optional<std::string>& error) {
  return error && error->find("record or line longer than") != std::string::npos;
}

Outcome whole(std::string_view text, const ZoneParseOptions& options) {
  Outcome o;
  try {
    o.records = parse_zone(text, options, "fuzz.zone");
  } catch (const ZoneError& e) {
    o.error = e.what();
  }
  return o;
}

Outcome in_pieces(std::string_view text, std::size_t piece, const ZoneParseOptions& options) {
  Outcome o;
  std::size_t pos = 0;
  detail::ZoneByteSource source = [&](char* buffer, std::size_t size) {
    std::size_t n = std::min({size, piece, text.size() - pos});
    std::copy_n(text.data() + pos, n, buffer);
    pos += n;
    return n;
  };
  try {
    detail::parse_zone_source(
        source, options,
        [&](Record&& r, const ZonePosition& where) {
          if (where.file != "fuzz.zone" || (!o.lines.empty() && where.line < o.lines.back())) std::abort();
          o.lines.push_back(where.line);
          o.records.push_back(std::move(r));
        },
        "fuzz.zone");
  } catch (const ZoneError& e) {
    o.error = e.what();
  }
  return o;
}

void compare(const Outcome& a, const Outcome& b) {
  if (a.error.has_value() != b.error.has_value()) std::abort();
  if (a.error) {
    if (*a.error != *b.error && !is_limit_error(a.error) && !is_limit_error(b.error)) std::abort();
    return;
  }
  if (a.records.size() != b.records.size()) std::abort();
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    if (!(a.records[i] == b.records[i]) || !a.records[i].owner.identical(b.records[i].owner)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ZoneParseOptions options;
  options.origin = *Name::from_text("example.com.");
  options.allow_include = false;  // no file system access from fuzz input
  const std::size_t piece = 1 + (size ? data[0] % 8 : 0);

  auto result = whole(text, options);
  compare(result, in_pieces(text, piece, options));
  ZoneParseOptions small = options;
  small.max_entry_size = 16 + (size > 1 ? data[1] % 64 : 0);
  compare(whole(text, small), in_pieces(text, piece, small));
  if (result.error) return 0;

  ZoneParseOptions reparse;
  reparse.allow_include = false;
  for (const auto& r : result.records) {
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
