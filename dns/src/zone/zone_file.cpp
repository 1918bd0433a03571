#include "basalt/dns/zone/zone_file.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include "basalt/dns/zone/zone_error.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

std::optional<Name> declared_origin(std::string_view text) {
  static const std::regex kOrigin(R"((^|\n)\$ORIGIN[ \t]+([^ \t\r\n;]+))", std::regex::icase);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(text.begin(), text.end(), m, kOrigin)) return std::nullopt;
  return Name::from_text(m[2].str());
}

}  // namespace

Zone load_zone_file(const std::string& path, const std::optional<Name>& apex,
                    const ZoneBuildOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ZoneError(path, 0, "cannot read the file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();

  ZoneParseOptions parse;
  std::optional<Name> origin = apex ? apex : declared_origin(text);
  if (!origin) {
    // No $ORIGIN: the SOA's owner, written absolute, names the zone.
    for (auto& r : parse_zone(text, parse, path)) {
      if (r.type == RRType::kSOA) {
        origin = r.owner;
        break;
      }
    }
    if (!origin || origin->is_root()) {
      throw ZoneError(path, 0,
                      "no $ORIGIN and no SOA with an absolute owner name: cannot tell which zone this is");
    }
  }
  parse.origin = *origin;
  auto records = parse_zone(text, parse, path);
  try {
    return Zone::build(*origin, std::move(records), options);
  } catch (const std::invalid_argument& e) {
    throw ZoneError(path, 0, e.what());
  }
}

}  // namespace basalt::dns
