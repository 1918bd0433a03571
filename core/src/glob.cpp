#include "basalt/core/glob.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

namespace basalt::core {
namespace {

// ---------------------------------------------------------------------------
// Brace expansion: a port of npm brace-expansion v5 (the version minimatch 10
// uses), without its step budgets; instead the number of results is capped.
// Characters are held as char32_t so that escaped specials (\{ \} \, \. \\)
// can be told apart from real ones: they carry kEscaped and compare unequal
// to every brace-syntax character.

using U32 = std::u32string;
constexpr char32_t kEscaped = 0x100;
constexpr int kMaxDepth = 1000;
constexpr int kMaxRewrites = 1000;

struct ExpandOverflow {};

struct Balanced {
  U32 pre, body, post;
};

// balanced-match's range('{', '}', str).
std::optional<std::pair<std::size_t, std::size_t>> brace_range(const U32& str) {
  constexpr auto npos = U32::npos;
  std::size_t ai = str.find(U'{');
  if (ai == npos) return std::nullopt;
  std::size_t bi = str.find(U'}', ai + 1);
  if (bi == npos) return std::nullopt;
  std::vector<std::size_t> begs;
  std::size_t left = str.size();
  std::optional<std::size_t> right;
  std::optional<std::pair<std::size_t, std::size_t>> result;
  std::size_t i = ai;
  while (i != npos && !result) {
    if (i == ai) {
      begs.push_back(i);
      ai = str.find(U'{', i + 1);
    } else if (begs.size() == 1) {
      std::size_t r = begs.back();
      begs.pop_back();
      result = std::pair{r, bi};
    } else {
      std::size_t beg = begs.back();
      begs.pop_back();
      if (beg < left) {
        left = beg;
        right = bi;
      }
      bi = str.find(U'}', i + 1);
    }
    i = (ai < bi && ai != npos) ? ai : bi;
  }
  if (!begs.empty() && right) result = std::pair{left, *right};
  return result;
}

std::optional<Balanced> balanced(const U32& str) {
  auto r = brace_range(str);
  if (!r) return std::nullopt;
  return Balanced{str.substr(0, r->first), str.substr(r->first + 1, r->second - r->first - 1),
                  str.substr(r->second + 1)};
}

bool is_digit32(char32_t c) {
  return c >= U'0' && c <= U'9';
}
bool is_alpha32(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}

// Matches -?\d+ at `i`, advancing it.
bool eat_int(const U32& s, std::size_t& i) {
  if (i < s.size() && s[i] == U'-') ++i;
  std::size_t start = i;
  while (i < s.size() && is_digit32(s[i])) ++i;
  return i > start;
}
bool eat_dots(const U32& s, std::size_t& i) {
  if (i + 1 < s.size() && s[i] == U'.' && s[i + 1] == U'.') {
    i += 2;
    return true;
  }
  return false;
}
// ^-?\d+\.\.-?\d+(?:\.\.-?\d+)?$
bool is_numeric_sequence(const U32& s) {
  std::size_t i = 0;
  if (!eat_int(s, i) || !eat_dots(s, i) || !eat_int(s, i)) return false;
  if (i == s.size()) return true;
  return eat_dots(s, i) && eat_int(s, i) && i == s.size();
}
// ^[a-zA-Z]\.\.[a-zA-Z](?:\.\.-?\d+)?$
bool is_alpha_sequence(const U32& s) {
  if (s.size() < 4 || !is_alpha32(s[0]) || s[1] != U'.' || s[2] != U'.' || !is_alpha32(s[3])) return false;
  std::size_t i = 4;
  if (i == s.size()) return true;
  return eat_dots(s, i) && eat_int(s, i) && i == s.size();
}

// /,(?!,).*\}/ : a comma not followed by a comma, with a '}' later on the line.
bool comma_set_follows(const U32& s) {
  bool close = false;
  for (std::size_t i = s.size(); i-- > 0;) {
    char32_t c = s[i];
    if (c == U'}') {
      close = true;
    } else if (c == U'\n' || c == U'\r') {
      close = false;
    } else if (c == U',' && close && (i + 1 >= s.size() || s[i + 1] != U',')) {
      return true;
    }
  }
  return false;
}

std::vector<U32> split_commas(const U32& s) {
  std::vector<U32> out(1);
  for (char32_t c : s) {
    if (c == U',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::vector<U32> parse_comma_parts(U32 str) {
  std::vector<U32> parts;
  U32 carry;
  for (;;) {
    auto m = balanced(str);
    if (!m) {
      auto tail = split_commas(str);
      tail[0] = carry + tail[0];
      parts.insert(parts.end(), tail.begin(), tail.end());
      return parts;
    }
    auto p = split_commas(m->pre);
    p[0] = carry + p[0];
    p.back() += U'{' + m->body + U'}';
    if (m->post.empty()) {
      parts.insert(parts.end(), p.begin(), p.end());
      return parts;
    }
    carry = p.back();
    p.pop_back();
    parts.insert(parts.end(), p.begin(), p.end());
    str = m->post;
  }
}

class BraceExpander {
 public:
  explicit BraceExpander(std::size_t max) : max_(max) {}

  std::vector<U32> expand(U32 str, int depth, bool is_top) {
    if (depth > kMaxDepth) return {str};
    std::vector<U32> acc{U32()};
    int rewrites = 0;
    bool drop_empties = false;
    bool first_group = true;
    for (;;) {
      auto m = balanced(str);
      if (!m) return combine(acc, str, {U32()}, drop_empties);
      const U32& pre = m->pre;
      if (!pre.empty() && pre.back() == U'$') {
        acc = combine(acc, pre + U'{' + m->body + U'}', {U32()}, drop_empties && m->post.empty());
        first_group = false;
        if (m->post.empty()) break;
        str = m->post;
        continue;
      }
      const bool numeric = is_numeric_sequence(m->body);
      const bool alpha = !numeric && is_alpha_sequence(m->body);
      const bool sequence = numeric || alpha;
      const bool options = m->body.find(U',') != U32::npos;
      if (!sequence && !options) {
        // Bash quirk: "{a},b}" expands to "a}" and "b".
        if (rewrites < kMaxRewrites && comma_set_follows(m->post)) {
          ++rewrites;
          str = pre + U'{' + m->body + char32_t(U'}' | kEscaped) + m->post;
          is_top = true;
          continue;
        }
        return combine(acc, pre + U'{' + m->body + U'}' + m->post, {U32()}, drop_empties);
      }
      if (first_group) {
        drop_empties = is_top && !sequence;
        first_group = false;
      }
      std::vector<U32> values;
      if (sequence) {
        values = expand_sequence(m->body, alpha);
      } else {
        auto n = parse_comma_parts(m->body);
        if (n.size() == 1) {
          // x{{a,b}}y ==> x{a}y x{b}y
          auto inner = expand(n[0], depth + 1, false);
          n.clear();
          for (auto& v : inner) n.push_back(U'{' + v + U'}');
          if (n.size() == 1) {
            acc = combine(acc, pre + n[0], {U32()}, drop_empties && m->post.empty());
            if (m->post.empty()) break;
            str = m->post;
            continue;
          }
        }
        for (auto& part : n) {
          auto expanded = expand(part, depth + 1, false);
          for (auto& v : expanded) {
            values.push_back(std::move(v));
            if (values.size() > max_) throw ExpandOverflow{};
          }
        }
      }
      acc = combine(acc, pre, values, drop_empties && m->post.empty());
      if (m->post.empty()) break;
      str = m->post;
    }
    return acc;
  }

 private:
  std::vector<U32> combine(const std::vector<U32>& acc, const U32& pre, const std::vector<U32>& values,
                           bool drop_empties) {
    std::vector<U32> out;
    for (const auto& a : acc) {
      U32 prefix = a + pre;
      for (const auto& v : values) {
        if (drop_empties && prefix.empty() && v.empty()) continue;
        out.push_back(prefix + v);
        if (out.size() > max_) throw ExpandOverflow{};
      }
    }
    return out;
  }

  static bool is_padded(const U32& s) {
    std::size_t i = (!s.empty() && s[0] == U'-') ? 1 : 0;
    return i + 1 < s.size() && s[i] == U'0' && is_digit32(s[i + 1]);
  }

  // JS numeric(): parseInt for numbers, the char code for a letter. Values
  // beyond +-10^15 cannot be expanded within any sane result cap anyway.
  static long long numeric(const U32& s) {
    if (!s.empty() && is_alpha32(s[0])) return static_cast<long long>(s[0]);
    long long v = 0;
    bool neg = false;
    std::size_t i = 0;
    if (i < s.size() && s[i] == U'-') {
      neg = true;
      ++i;
    }
    for (; i < s.size(); ++i) {
      if (v > 1'000'000'000'000'000LL) throw ExpandOverflow{};
      v = v * 10 + static_cast<long long>(s[i] - U'0');
    }
    return neg ? -v : v;
  }

  std::vector<U32> expand_sequence(const U32& body, bool alpha) {
    std::vector<U32> n(1);
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == U'.' && i + 1 < body.size() && body[i + 1] == U'.') {
        n.emplace_back();
        ++i;
      } else {
        n.back() += body[i];
      }
    }
    const long long x = numeric(n[0]);
    const long long y = numeric(n[1]);
    const std::size_t width = std::max(n[0].size(), n[1].size());
    long long incr = n.size() == 3 ? std::max(std::llabs(numeric(n[2])), 1LL) : 1;
    const bool reverse = y < x;
    if (reverse) incr = -incr;
    const bool pad = std::any_of(n.begin(), n.end(), is_padded);
    const unsigned long long count = (reverse ? x - y : y - x) / std::llabs(incr) + 1;
    if (count > max_) throw ExpandOverflow{};
    std::vector<U32> out;
    for (long long i = x; reverse ? i >= y : i <= y; i += incr) {
      U32 c;
      if (alpha) {
        if (i != '\\') c = char32_t(i);
      } else {
        std::string digits = std::to_string(i);
        if (pad && digits.size() < width) {
          std::string zeros(width - digits.size(), '0');
          digits = i < 0 ? "-" + zeros + digits.substr(1) : zeros + digits;
        }
        c.assign(digits.begin(), digits.end());
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  std::size_t max_;
};

U32 escape_braces(std::string_view s) {
  U32 out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && i + 1 < s.size()) {
      const char n = s[i + 1];
      if (n == '\\' || n == '{' || n == '}' || n == ',' || n == '.') {
        out += char32_t(static_cast<unsigned char>(n)) | kEscaped;
        ++i;
        continue;
      }
    }
    out += char32_t(c);
  }
  return out;
}

// minimatch only expands when /\{(?:(?!\{).)*\}/ matches.
bool has_brace_set(std::string_view s) {
  bool open = false;
  for (char c : s) {
    if (c == '{') {
      open = true;
    } else if (c == '\n' || c == '\r') {
      open = false;
    } else if (c == '}' && open) {
      return true;
    }
  }
  return false;
}

std::optional<std::vector<std::string>> expand_braces(std::string_view pattern, std::size_t max) {
  if (!has_brace_set(pattern)) return std::vector<std::string>{std::string(pattern)};
  if (pattern.empty()) return std::vector<std::string>{};
  std::string str(pattern);
  // Bash keeps a leading "{}" literal.
  if (str.starts_with("{}")) str = "\\{\\}" + str.substr(2);
  try {
    auto expanded = BraceExpander(max).expand(escape_braces(str), 0, true);
    std::vector<std::string> out;
    out.reserve(expanded.size());
    for (const auto& e : expanded) {
      std::string s;
      s.reserve(e.size());
      for (char32_t c : e) s += static_cast<char>(static_cast<unsigned char>(c & 0xff));
      out.push_back(std::move(s));
    }
    return out;
  } catch (const ExpandOverflow&) {
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------
// Character classes (minimatch's parseClass), on bytes. POSIX classes use the
// ASCII members of the Unicode categories minimatch uses.

using ByteSet = Glob::ByteSet;

ByteSet set_of(bool (*pred)(unsigned char)) {
  ByteSet s;
  for (int c = 0; c < 256; ++c)
    if (pred(static_cast<unsigned char>(c))) s.add(static_cast<std::uint8_t>(c));
  return s;
}
bool is_lower(unsigned char c) {
  return c >= 'a' && c <= 'z';
}
bool is_upper(unsigned char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(unsigned char c) {
  return is_lower(c) || is_upper(c);
}
bool is_cntrl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}
unsigned char to_lower(unsigned char c) {
  return is_upper(c) ? c + 32 : c;
}

struct PosixClass {
  std::string_view name;
  bool (*pred)(unsigned char);
  bool negated;  // minimatch expresses it as "not in this set"
};
const PosixClass kPosixClasses[] = {
    {"[:alnum:]", [](unsigned char c) { return is_alpha(c) || is_digit(c); }, false},
    {"[:alpha:]", is_alpha, false},
    {"[:ascii:]", [](unsigned char c) { return c < 0x80; }, false},
    {"[:blank:]", [](unsigned char c) { return c == ' ' || c == '\t'; }, false},
    {"[:cntrl:]", is_cntrl, false},
    {"[:digit:]", is_digit, false},
    {"[:graph:]", [](unsigned char c) { return c == ' ' || is_cntrl(c); }, true},
    {"[:lower:]", is_lower, false},
    // minimatch maps [:print:] to \p{C} (control characters); kept for compatibility.
    {"[:print:]", is_cntrl, false},
    {"[:punct:]",
     [](unsigned char c) {
       return c < 0x80 &&
              std::string_view("!\"#%&'()*,-./:;?@[\\]_{}").find(char(c)) != std::string_view::npos;
     },
     false},
    {"[:space:]", [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }, false},
    {"[:upper:]", is_upper, false},
    {"[:word:]", [](unsigned char c) { return is_alpha(c) || is_digit(c) || c == '_'; }, false},
    {"[:xdigit:]", [](unsigned char c) { return is_digit(c) || (to_lower(c) >= 'a' && to_lower(c) <= 'f'); },
     false},
};

void case_close(ByteSet& s) {
  for (int c = 'a'; c <= 'z'; ++c) {
    const auto lo = static_cast<std::uint8_t>(c), up = static_cast<std::uint8_t>(c - 32);
    if (s.has(lo) || s.has(up)) {
      s.add(lo);
      s.add(up);
    }
  }
}

struct ParsedClass {
  enum Kind { kNotAClass, kNever, kLiteral, kSet } kind = kNotAClass;
  std::size_t consumed = 0;
  std::uint8_t literal = 0;
  ByteSet set;
  bool dot_capable = false;  // its regex source starts with '['
};

ParsedClass parse_class(std::string_view glob, std::size_t pos, bool nocase) {
  ParsedClass out;
  struct Entry {
    std::uint8_t lo, hi;
    bool single;
  };
  std::vector<Entry> ranges;
  ByteSet negs;
  bool have_negs = false;
  std::size_t i = pos + 1;
  bool saw_start = false, escaping = false, negate = false;
  std::size_t end_pos = pos;
  std::optional<std::uint8_t> range_start;
  const auto at = [&](std::size_t k) { return static_cast<std::uint8_t>(glob[k]); };
  while (i < glob.size()) {
    const std::uint8_t c = at(i);
    if ((c == '!' || c == '^') && i == pos + 1) {
      negate = true;
      ++i;
      continue;
    }
    if (c == ']' && saw_start && !escaping) {
      end_pos = i + 1;
      break;
    }
    saw_start = true;
    if (c == '\\' && !escaping) {
      escaping = true;
      ++i;
      continue;
    }
    if (c == '[' && !escaping) {
      bool posix = false;
      for (const auto& pc : kPosixClasses) {
        if (glob.substr(i).starts_with(pc.name)) {
          if (range_start) {
            out.kind = ParsedClass::kNever;
            out.consumed = glob.size() - pos;
            return out;
          }
          i += pc.name.size();
          ByteSet s = set_of(pc.pred);
          if (pc.negated) {
            for (int k = 0; k < 4; ++k) negs.bits[k] |= s.bits[k];
            have_negs = true;
          } else {
            for (int b = 0; b < 256; ++b)
              if (s.has(static_cast<std::uint8_t>(b)))
                ranges.push_back({std::uint8_t(b), std::uint8_t(b), false});
            // Several entries: never collapses to a literal.
            ranges.push_back({1, 0, false});
          }
          posix = true;
          break;
        }
      }
      if (posix) continue;
    }
    escaping = false;
    if (range_start) {
      if (c > *range_start) {
        ranges.push_back({*range_start, c, false});
      } else if (c == *range_start) {
        ranges.push_back({c, c, true});
      }
      range_start.reset();
      ++i;
      continue;
    }
    if (glob.substr(i + 1).starts_with("-]")) {
      ranges.push_back({c, c, false});
      ranges.push_back({'-', '-', false});
      i += 2;
      continue;
    }
    if (glob.substr(i + 1).starts_with("-")) {
      range_start = c;
      i += 2;
      continue;
    }
    ranges.push_back({c, c, true});
    ++i;
  }
  if (end_pos < i) return out;  // unterminated: '[' is a literal
  out.consumed = end_pos - pos;
  if (ranges.empty() && !have_negs) {
    out.kind = ParsedClass::kNever;
    out.consumed = glob.size() - pos;
    return out;
  }
  if (!have_negs && ranges.size() == 1 && ranges[0].single && !negate) {
    out.kind = ParsedClass::kLiteral;
    out.literal = ranges[0].lo;
    return out;
  }
  ByteSet r;
  bool have_ranges = false;
  for (const auto& e : ranges) {
    if (e.lo > e.hi) continue;  // posix marker
    have_ranges = true;
    for (int b = e.lo; b <= e.hi; ++b) r.add(static_cast<std::uint8_t>(b));
  }
  if (nocase) {
    case_close(r);
    case_close(negs);
  }
  ByteSet result;
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<std::uint8_t>(b);
    bool hit;
    if (!negate) {
      hit = r.has(c) || (have_negs && !negs.has(c));
    } else {
      hit = (have_ranges && !r.has(c)) || (have_negs && negs.has(c));
    }
    if (hit) result.add(c);
  }
  out.kind = ParsedClass::kSet;
  out.set = result;
  // minimatch builds "([..]|[^..])" (starts with '(') when both kinds are present.
  out.dot_capable = !(have_ranges && have_negs);
  return out;
}

// The extglob opener minimatch would parse in this segment, if any: one of
// "!?+*@" followed by '(' with a ')' somewhere after it.
std::optional<std::string_view> find_extglob(std::string_view seg) {
  bool escaping = false;
  for (std::size_t i = 0; i < seg.size(); ++i) {
    const char c = seg[i];
    if (escaping) {
      escaping = false;
      continue;
    }
    if (c == '\\') {
      escaping = true;
      continue;
    }
    if (c == '[') {
      auto cls = parse_class(seg, i, false);
      if (cls.kind != ParsedClass::kNotAClass) {
        i += cls.consumed - 1;
        continue;
      }
    }
    if (std::string_view("!?+*@").find(c) != std::string_view::npos && i + 1 < seg.size() &&
        seg[i + 1] == '(' && seg.find(')', i + 2) != std::string_view::npos) {
      return seg.substr(i, 2);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> slash_split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = s.find_first_not_of('/', slash);
    if (start == std::string_view::npos) start = s.size();
  }
}

constexpr std::size_t kMaxSegments = 63;  // states 0..63 fit a uint64_t

bool is_dotish(std::string_view f, bool dot) {
  return f == "." || f == ".." || (!dot && !f.empty() && f[0] == '.');
}

}  // namespace

// ---------------------------------------------------------------------------

class GlobCompiler {
 public:
  static std::optional<Glob> compile(std::string_view pattern, GlobOptions options, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<Glob> {
      if (error) *error = std::move(why);
      return std::nullopt;
    };
    if (pattern.size() > Glob::kMaxPatternLength) return fail("is longer than 65536 bytes");
    Glob g;
    g.pattern_ = std::string(pattern);
    g.options_ = options;
    if (!pattern.empty() && pattern[0] == '#') {
      g.comment_ = true;
      return g;
    }
    if (pattern.empty()) {
      g.empty_ = true;
      g.literal_ = true;
      return g;
    }
    std::size_t bangs = 0;
    while (bangs < pattern.size() && pattern[bangs] == '!') ++bangs;
    g.negate_ = bangs % 2 == 1;
    auto expanded = expand_braces(pattern.substr(bangs), Glob::kMaxAlternatives);
    if (!expanded) {
      return fail("expands to more than " + std::to_string(Glob::kMaxAlternatives) + " alternatives");
    }
    bool magic = g.negate_ || expanded->size() != 1;
    for (const auto& alt : *expanded) {
      auto parts = slash_split(alt);
      // minimatch's optimizationLevel 1: "**/**" -> "**", "a/.." -> nothing.
      std::vector<std::string_view> segs;
      for (auto part : parts) {
        if (!segs.empty() && part == "**" && segs.back() == "**") continue;
        if (part == ".." && !segs.empty() && segs.back() != ".." && segs.back() != "." &&
            segs.back() != "**") {
          segs.pop_back();
          continue;
        }
        segs.push_back(part);
      }
      if (segs.empty()) segs.push_back("");
      if (segs.size() > kMaxSegments) {
        return fail("has more than " + std::to_string(kMaxSegments) + " '/'-separated segments");
      }
      Glob::Alternative a;
      a.begin = static_cast<std::uint32_t>(g.segments_.size());
      for (auto seg : segs) {
        if (auto ext = find_extglob(seg)) {
          return fail("uses extglob syntax '" + std::string(*ext) + "', which is not supported");
        }
        if (seg == "**") {
          Glob::Segment s;
          s.kind = Glob::Segment::kGlobstar;
          g.segments_.push_back(s);
          magic = true;
          continue;
        }
        magic |= parse_segment(g, seg);
      }
      a.end = static_cast<std::uint32_t>(g.segments_.size());
      g.alternatives_.push_back(a);
    }
    g.literal_ = !magic;
    return g;
  }

 private:
  // Appends one segment; returns whether it has any wildcard.
  static bool parse_segment(Glob& g, std::string_view seg) {
    const bool nocase = g.options_.case_insensitive;
    Glob::Segment s;
    s.begin = static_cast<std::uint32_t>(g.tokens_.size());
    bool magic = false;
    bool escaping = false, in_star = false;
    std::vector<bool> dot_capable;  // per token
    auto push = [&](Glob::Token t, bool dc) {
      g.tokens_.push_back(t);
      dot_capable.push_back(dc);
    };
    auto literal = [&](unsigned char c) {
      push({Glob::Token::kLiteral, nocase ? to_lower(c) : c, 0}, false);
    };
    for (std::size_t i = 0; i < seg.size(); ++i) {
      const auto c = static_cast<unsigned char>(seg[i]);
      if (escaping) {
        escaping = false;
        literal(c);
        continue;
      }
      if (c == '*') {
        if (in_star) continue;
        in_star = true;
        push({Glob::Token::kStar, 0, 0}, true);
        magic = true;
        continue;
      }
      in_star = false;
      if (c == '\\') {
        if (i + 1 == seg.size()) {
          literal(c);
        } else {
          escaping = true;
        }
        continue;
      }
      if (c == '[') {
        auto cls = parse_class(seg, i, nocase);
        if (cls.kind == ParsedClass::kNever) {
          s.kind = Glob::Segment::kNever;
          magic = true;
          break;
        }
        if (cls.kind == ParsedClass::kLiteral) {
          literal(cls.literal);
          i += cls.consumed - 1;
          continue;
        }
        if (cls.kind == ParsedClass::kSet) {
          auto idx = static_cast<std::uint16_t>(g.classes_.size());
          auto found = std::find_if(g.classes_.begin(), g.classes_.end(), [&](const Glob::ByteSet& b) {
            return std::equal(std::begin(b.bits), std::end(b.bits), std::begin(cls.set.bits));
          });
          if (found != g.classes_.end()) {
            idx = static_cast<std::uint16_t>(found - g.classes_.begin());
          } else {
            g.classes_.push_back(cls.set);
          }
          push({Glob::Token::kClass, 0, idx}, cls.dot_capable);
          magic = true;
          i += cls.consumed - 1;
          continue;
        }
      }
      if (c == '?') {
        push({Glob::Token::kAny, 0, 0}, true);
        magic = true;
        continue;
      }
      literal(c);
    }
    s.end = static_cast<std::uint32_t>(g.tokens_.size());
    if (s.kind == Glob::Segment::kNever) {
      g.tokens_.resize(s.begin);
      s.end = s.begin;
    } else if (seg != "." && seg != "..") {
      const auto& t = g.tokens_;
      const std::size_t n = s.end - s.begin;
      auto is_dot = [&](std::size_t k) {
        return k < n && t[s.begin + k].kind == Glob::Token::kLiteral && t[s.begin + k].byte == '.';
      };
      auto dc = [&](std::size_t k) { return k < n && dot_capable[k]; };
      const bool no_traversal =
          (g.options_.dot && dc(0)) || (is_dot(0) && dc(1)) || (is_dot(0) && is_dot(1) && dc(2));
      s.no_traversal = no_traversal;
      s.no_leading_dot = !no_traversal && !g.options_.dot && dc(0);
      s.non_empty = !seg.empty() && seg.find_first_not_of('*') == std::string_view::npos;
    }
    g.segments_.push_back(s);
    return magic;
  }
};

std::optional<Glob> Glob::compile(std::string_view pattern, GlobOptions options, std::string* error) {
  return GlobCompiler::compile(pattern, options, error);
}

namespace {

bool match_one(const Glob::Token& t, unsigned char c, const Glob::ByteSet* classes, bool nocase) noexcept {
  switch (t.kind) {
    case Glob::Token::kLiteral:
      return (nocase ? to_lower(c) : c) == t.byte;
    case Glob::Token::kAny:
      return true;
    case Glob::Token::kClass:
      return classes[t.class_index].has(c);
    default:
      return false;
  }
}

// Classic wildcard matching with backtracking to the last star only: O(n*m),
// no recursion. Correct because every token but '*' consumes exactly one byte.
// The star-free head and tail are compared first, so "*.example.com" costs a
// suffix compare.
bool match_tokens(const Glob::Token* tok, std::size_t m, const Glob::ByteSet* classes, std::string_view s,
                  bool nocase) noexcept {
  std::size_t head = 0;
  while (head < m && tok[head].kind != Glob::Token::kStar) ++head;
  if (head == m) {  // no star: fixed length
    if (s.size() != m) return false;
    for (std::size_t i = 0; i < m; ++i)
      if (!match_one(tok[i], static_cast<unsigned char>(s[i]), classes, nocase)) return false;
    return true;
  }
  std::size_t tail = 0;
  while (tok[m - 1 - tail].kind != Glob::Token::kStar) ++tail;
  if (s.size() < head + tail) return false;
  for (std::size_t i = 0; i < head; ++i)
    if (!match_one(tok[i], static_cast<unsigned char>(s[i]), classes, nocase)) return false;
  for (std::size_t i = 0; i < tail; ++i) {
    if (!match_one(tok[m - tail + i], static_cast<unsigned char>(s[s.size() - tail + i]), classes, nocase)) {
      return false;
    }
  }
  // What is left starts and ends with a star.
  tok += head;
  m -= head + tail;
  s = s.substr(head, s.size() - head - tail);
  std::size_t p = 0, i = 0;
  std::size_t star_p = std::numeric_limits<std::size_t>::max(), star_i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    if (p < m) {
      const auto& t = tok[p];
      if (t.kind == Glob::Token::kStar) {
        star_p = p++;
        star_i = i;
        continue;
      }
      if (match_one(t, static_cast<unsigned char>(s[i]), classes, nocase)) {
        ++p;
        ++i;
        continue;
      }
    }
    if (star_p != std::numeric_limits<std::size_t>::max()) {
      p = star_p + 1;
      i = ++star_i;
      continue;
    }
    return false;
  }
  while (p < m && tok[p].kind == Glob::Token::kStar) ++p;
  return p == m;
}

}  // namespace

bool Glob::match(std::string_view subject) const noexcept {
  if (comment_) return false;
  if (empty_) return subject.empty();
  const bool nocase = options_.case_insensitive;
  const bool dot = options_.dot;
  bool hit = false;
  for (const auto& alt : alternatives_) {
    const std::size_t m = alt.end - alt.begin;
    const Segment* segs = segments_.data() + alt.begin;
    auto seg_matches = [&](const Segment& s, std::string_view f) noexcept {
      if (s.kind == Segment::kNever) return false;
      if (s.non_empty && f.empty()) return false;
      if (s.no_leading_dot && !f.empty() && f[0] == '.') return false;
      if (s.no_traversal && (f == "." || f == "..")) return false;
      return match_tokens(tokens_.data() + s.begin, s.end - s.begin, classes_.data(), f, nocase);
    };
    // NFA over segments: bit j set = the first j pattern segments have matched.
    // A globstar at j loops on any segment that is not "." / ".." / dot-led
    // (unless `dot`); one in the middle may match zero segments, a trailing
    // one needs at least one (as in minimatch).
    auto closure = [&](std::uint64_t st) noexcept {
      for (std::size_t j = 0; j + 1 < m; ++j)
        if ((st >> j & 1) && segs[j].kind == Segment::kGlobstar) st |= std::uint64_t{1} << (j + 1);
      return st;
    };
    std::uint64_t state = closure(1);
    std::uint64_t before_last = 0;
    std::size_t pos = 0;
    bool trailing_empty = false;
    for (;;) {
      const std::size_t slash = subject.find('/', pos);
      const bool last = slash == std::string_view::npos;
      const std::string_view f = subject.substr(pos, last ? std::string_view::npos : slash - pos);
      std::uint64_t next = 0;
      for (std::size_t j = 0; j < m; ++j) {
        if (!(state >> j & 1)) continue;
        const Segment& s = segs[j];
        if (s.kind == Segment::kGlobstar) {
          if (!is_dotish(f, dot)) {
            next |= std::uint64_t{1} << j;
            if (j + 1 == m) next |= std::uint64_t{1} << m;
          }
        } else if (seg_matches(s, f)) {
          next |= std::uint64_t{1} << (j + 1);
        }
      }
      before_last = state;
      state = closure(next);
      if (last) {
        trailing_empty = f.empty() && pos > 0;
        break;
      }
      if (state == 0) break;
      pos = subject.find_first_not_of('/', slash);
      if (pos == std::string_view::npos) pos = subject.size();
    }
    // A pattern also matches when only a trailing "/" is left over.
    if ((state >> m & 1) || (trailing_empty && (before_last >> m & 1))) {
      hit = true;
      break;
    }
  }
  return hit != negate_;
}

bool glob_match(std::string_view pattern, std::string_view subject, GlobOptions options) {
  auto g = Glob::compile(pattern, options);
  return g && g->match(subject);
}

std::optional<std::vector<std::string>> brace_expand(std::string_view pattern, std::size_t max_results) {
  return expand_braces(pattern, max_results);
}

}  // namespace basalt::core
