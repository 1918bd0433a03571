#include "basalt/dns/zone/zone_file.hpp"

#include <algorithm>
#include <cctype>

#include "basalt/core/file.hpp"
#include "basalt/dns/zone/zone_error.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

// The name after the first line that starts with `$ORIGIN`, read line by line
// (lines longer than the parser's limit are skipped: parsing reports them).
std::optional<Name> declared_origin(const std::string& path, std::size_t max_line) {
  std::string reason;
  auto in = core::InputFile::open(path, &reason);
  if (!in) throw ZoneError(path, 0, "cannot read the file: " + reason);
  std::string line;
  bool skipping = false;
  char buffer[65536];
  auto check = [&]() -> std::optional<Name> {
    constexpr std::string_view kOrigin = "$origin";
    if (line.size() <= kOrigin.size() || (line[kOrigin.size()] != ' ' && line[kOrigin.size()] != '\t'))
      return std::nullopt;
    for (std::size_t i = 0; i < kOrigin.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != kOrigin[i]) return std::nullopt;
    }
    std::string_view rest = std::string_view(line).substr(kOrigin.size());
    auto begin = rest.find_first_not_of(" \t");
    if (begin == std::string_view::npos) return std::nullopt;
    rest = rest.substr(begin);
    rest = rest.substr(0, rest.find_first_of(" \t\r;"));
    if (rest.empty()) return std::nullopt;
    return Name::from_text(rest);
  };
  for (;;) {
    auto n = in->read(buffer, sizeof buffer, &reason);
    if (!n) throw ZoneError(path, 0, "cannot read the file: " + reason);
    if (*n == 0) break;
    for (std::string_view chunk(buffer, *n); !chunk.empty();) {
      auto nl = chunk.find('\n');
      auto piece = chunk.substr(0, nl);
      if (!skipping) {
        line.append(piece);
        if (line.size() > max_line) {
          skipping = true;
          line.clear();
        }
      }
      if (nl == std::string_view::npos) break;
      chunk.remove_prefix(nl + 1);
      if (!skipping) {
        if (auto origin = check()) return origin;
      }
      skipping = false;
      line.clear();
    }
  }
  if (!skipping) return check();
  return std::nullopt;
}

// Thrown from the record callback to stop parsing once the SOA is found.
struct Found {};

// The owner of the first SOA, the zone a file without $ORIGIN is for.
std::optional<Name> soa_owner(const std::string& path, const ZoneParseOptions& options) {
  std::optional<Name> owner;
  try {
    parse_zone_file(path, options, [&](Record&& r, const ZonePosition&) {
      if (r.type != RRType::kSOA) return;
      owner = r.owner;
      throw Found{};
    });
  } catch (const Found&) {
  }
  return owner;
}

}  // namespace

Zone load_zone_file(const std::string& path, const std::optional<Name>& apex,
                    const ZoneBuildOptions& options) {
  ZoneParseOptions parse;
  std::optional<Name> origin = apex ? apex : declared_origin(path, parse.max_entry_size);
  if (!origin) {
    // No $ORIGIN: the SOA's owner, written absolute, names the zone.
    origin = soa_owner(path, parse);
    if (!origin || origin->is_root()) {
      throw ZoneError(path, 0,
                      "no $ORIGIN and no SOA with an absolute owner name: cannot tell which zone this is");
    }
  }
  parse.origin = *origin;

  // Each record's file (the zone file or an $INCLUDEd one) and line, so that
  // an error found when the zone is built names where the record is.
  std::vector<Record> records;
  std::vector<std::string> files;
  std::vector<std::pair<std::size_t, std::size_t>> positions;  // index into files, line
  std::size_t current = 0;
  parse_zone_file(path, parse, [&](Record&& r, const ZonePosition& where) {
    if (files.empty() || files[current] != where.file) {
      current = static_cast<std::size_t>(std::find(files.begin(), files.end(), where.file) - files.begin());
      if (current == files.size()) files.emplace_back(where.file);
    }
    positions.emplace_back(current, where.line);
    records.push_back(std::move(r));
  });

  ZoneBuildOptions build = options;
  build.synthesize_soa_ns = false;  // a zone file says what its SOA and NS are
  try {
    return Zone::build(*origin, std::move(records), build);
  } catch (const ZoneBuildError& e) {
    if (auto i = e.record(); i && *i < positions.size()) {
      throw ZoneError(files[positions[*i].first], positions[*i].second, e.what());
    }
    throw ZoneError(path, 0, e.what());
  } catch (const std::invalid_argument& e) {
    throw ZoneError(path, 0, e.what());
  }
}

}  // namespace basalt::dns
