#include "basalt/dns/wire/rdata.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/base32hex.hpp"
#include "basalt/dns/wire/rdata_layout.hpp"
#include "basalt/dns/wire/svc_params.hpp"
#include "basalt/dns/wire/ttl.hpp"
#include "wire/text_escape.hpp"

namespace basalt::dns {
namespace {

using K = FieldKind;

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void put16(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& out, std::uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xFFFF);
}

bool valid_type_bitmap(const std::uint8_t* p, std::size_t n) {
  int last_window = -1;
  std::size_t pos = 0;
  while (pos < n) {
    if (pos + 2 > n) return false;
    int window = p[pos];
    std::size_t len = p[pos + 1];
    if (window <= last_window || len == 0 || len > 32 || pos + 2 + len > n) return false;
    if (p[pos + 2 + len - 1] == 0) return false;  // RFC 4034 §4.1.2: no trailing zero octets
    last_window = window;
    pos += 2 + len;
  }
  return true;
}

bool valid_caa_tag(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return false;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t c = p[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

// Walks RDATA against its layout. With `allow_pointers`, names of kinds that
// may be compressed are decompressed using the whole message.
WireError check_rdata(RRType type, ByteSpan message, std::size_t offset, std::size_t length, Bytes* out,
                      bool allow_pointers) {
  if (offset > message.size() || length > message.size() - offset) return WireError::kTruncated;
  const std::size_t end = offset + length;
  const std::uint8_t* d = message.data();
  const RdataLayout* layout = rdata_layout(type);
  if (!layout) {
    if (out) out->insert(out->end(), d + offset, d + end);
    return WireError::kOk;
  }
  const std::size_t out_start = out ? out->size() : 0;
  auto fail = [&](WireError e) {
    if (out) out->resize(out_start);
    return e;
  };
  std::size_t pos = offset;
  for (const FieldDesc& f : layout->fields) {
    const std::size_t rest = end - pos;
    std::size_t n = 0;  // in-place bytes to copy verbatim
    switch (f.kind) {
      case K::kCompressedName:
      case K::kName:
        if (allow_pointers) {
          Name name;
          std::size_t next = 0;
          WireError e = decode_name(message.first(end), pos, out ? &name : nullptr, &next);
          if (e != WireError::kOk) return fail(e == WireError::kTruncated ? WireError::kRdataLength : e);
          if (out) out->insert(out->end(), name.wire().begin(), name.wire().end());
          pos = next;
          continue;
        }
        [[fallthrough]];
      case K::kPlainName:
        n = plain_name_length(message.subspan(pos, rest), 0);
        if (n == 0) return fail(WireError::kBadRdata);
        break;
      case K::kU8:
        n = 1;
        break;
      case K::kU16:
      case K::kType:
        n = 2;
        break;
      case K::kU32:
      case K::kTtl:
      case K::kTime:
      case K::kIPv4:
        n = 4;
        break;
      case K::kIPv6:
        n = 16;
        break;
      case K::kCharString:
      case K::kSalt:
        if (rest < 1) return fail(WireError::kRdataLength);
        n = 1u + d[pos];
        break;
      case K::kHash:
        if (rest < 1) return fail(WireError::kRdataLength);
        if (d[pos] == 0) return fail(WireError::kBadRdata);
        n = 1u + d[pos];
        break;
      case K::kCaaTag:
        if (rest < 1) return fail(WireError::kRdataLength);
        n = 1u + d[pos];
        if (n > rest || !valid_caa_tag(d + pos + 1, d[pos])) return fail(WireError::kBadRdata);
        break;
      case K::kCharStrings: {
        if (rest == 0) return fail(WireError::kBadRdata);
        std::size_t p = pos;
        while (p < end) p += 1u + d[p];
        if (p != end) return fail(WireError::kRdataLength);
        n = rest;
        break;
      }
      case K::kTypeBitmap:
        if (!valid_type_bitmap(d + pos, rest)) return fail(WireError::kBadRdata);
        n = rest;
        break;
      case K::kSvcParams:
        if (!svc_params_valid(ByteSpan(d + pos, rest))) return fail(WireError::kBadRdata);
        n = rest;
        break;
      case K::kBase64:
      case K::kHex:
      case K::kCaaValue:
      case K::kUriTarget:
        n = rest;
        break;
    }
    if (n > rest) return fail(WireError::kRdataLength);
    if (out) out->insert(out->end(), d + pos, d + pos + n);
    pos += n;
  }
  if (pos != end) return fail(WireError::kRdataLength);
  return WireError::kOk;
}

// ---- text output -------------------------------------------------------------

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, p);
}

// Days since 1970-01-01 to civil date (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yy + (m <= 2));
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void append_time(std::string& out, std::uint32_t t) {
  int y;
  unsigned mo, d;
  civil_from_days(t / 86400, y, mo, d);
  unsigned secs = t % 86400;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u%02u%02u%02u", y, mo, d, secs / 3600, (secs / 60) % 60,
                secs % 60);
  out += buf;
}

void append_hex_upper(std::string& out, ByteSpan data) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (std::uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
}

void append_type_bitmap(std::string& out, ByteSpan bm) {
  std::size_t pos = 0;
  bool first = true;
  while (pos + 2 <= bm.size()) {
    unsigned window = bm[pos];
    std::size_t len = bm[pos + 1];
    for (std::size_t i = 0; i < len && pos + 2 + i < bm.size(); ++i) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        if (bm[pos + 2 + i] & (0x80 >> bit)) {
          if (!first) out.push_back(' ');
          first = false;
          out += to_string(static_cast<RRType>(window * 256 + i * 8 + bit));
        }
      }
    }
    pos += 2 + len;
  }
}

}  // namespace

void append_quoted_text(std::string& out, ByteSpan s) {
  out.push_back('"');
  for (std::uint8_t c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[4] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                     static_cast<char>('0' + c % 10)};
      out.append(buf, 4);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

std::optional<Bytes> unescape_text(std::string_view text) {
  Bytes out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out.push_back(static_cast<std::uint8_t>(c));
      continue;
    }
    if (i + 1 >= text.size()) return std::nullopt;
    char n = text[i + 1];
    if (n >= '0' && n <= '9') {
      if (i + 3 >= text.size()) return std::nullopt;
      char n2 = text[i + 2], n3 = text[i + 3];
      if (n2 < '0' || n2 > '9' || n3 < '0' || n3 > '9') return std::nullopt;
      int v = (n - '0') * 100 + (n2 - '0') * 10 + (n3 - '0');
      if (v > 255) return std::nullopt;
      out.push_back(static_cast<std::uint8_t>(v));
      i += 3;
    } else {
      out.push_back(static_cast<std::uint8_t>(n));
      ++i;
    }
  }
  return out;
}

WireError read_rdata(RRType type, ByteSpan message, std::size_t offset, std::size_t length, Bytes* out) {
  return check_rdata(type, message, offset, length, out, true);
}

bool is_valid_rdata(RRType type, ByteSpan rdata) {
  return rdata.size() <= 65535 && check_rdata(type, rdata, 0, rdata.size(), nullptr, false) == WireError::kOk;
}

bool has_compressible_names(RRType type) {
  switch (type) {
    case RRType::kNS:
    case RRType::kCNAME:
    case RRType::kSOA:
    case RRType::kPTR:
    case RRType::kMX:
      return true;
    default:
      return false;
  }
}

void canonicalize_rdata(RRType type, std::span<std::uint8_t> rdata) {
  const RdataLayout* layout = rdata_layout(type);
  if (!layout) return;
  std::size_t pos = 0;
  for (const FieldDesc& f : layout->fields) {
    if (pos > rdata.size()) return;
    std::size_t n = field_length(f.kind, rdata, pos);
    if (is_name_kind(f.kind)) {
      if (n == 0) return;
      if (f.lowercase_in_canonical) {
        for (std::size_t p = pos; rdata[p] != 0; p += 1u + rdata[p]) {
          for (std::size_t i = 1; i <= rdata[p]; ++i) rdata[p + i] = ascii_lower(rdata[p + i]);
        }
      }
    }
    pos += n;
  }
}

std::string rdata_to_text(RRType type, ByteSpan rdata) {
  std::string out;
  const RdataLayout* layout = rdata_layout(type);
  if (!layout || !is_valid_rdata(type, rdata)) {
    out += "\\# ";
    append_uint(out, rdata.size());
    if (!rdata.empty()) {
      out.push_back(' ');
      append_hex_upper(out, rdata);
    }
    return out;
  }
  const std::uint8_t* d = rdata.data();
  std::size_t pos = 0;
  for (const FieldDesc& f : layout->fields) {
    std::size_t n = field_length(f.kind, rdata, pos);
    ByteSpan field = rdata.subspan(pos, n);
    std::size_t before = out.size();
    if (!out.empty()) out.push_back(' ');
    switch (f.kind) {
      case K::kCompressedName:
      case K::kName:
      case K::kPlainName:
        Name::from_wire(field)->append_to(out);
        break;
      case K::kU8:
        append_uint(out, d[pos]);
        break;
      case K::kU16:
        append_uint(out, get16(d + pos));
        break;
      case K::kU32:
      case K::kTtl:
        append_uint(out, get32(d + pos));
        break;
      case K::kType:
        out += to_string(static_cast<RRType>(get16(d + pos)));
        break;
      case K::kTime:
        append_time(out, get32(d + pos));
        break;
      case K::kIPv4:
      case K::kIPv6: {
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(f.kind == K::kIPv4 ? AF_INET : AF_INET6, d + pos, buf, sizeof buf);
        out += buf;
        break;
      }
      case K::kCharString:
        append_quoted_text(out, field.subspan(1));
        break;
      case K::kCharStrings:
        for (std::size_t p = 0; p < field.size(); p += 1u + field[p]) {
          if (p) out.push_back(' ');
          append_quoted_text(out, field.subspan(p + 1, field[p]));
        }
        break;
      case K::kBase64:
        out += core::base64_encode(field);
        break;
      case K::kHex:
        append_hex_upper(out, field);
        break;
      case K::kSalt:
        if (field.size() == 1)
          out.push_back('-');
        else
          append_hex_upper(out, field.subspan(1));
        break;
      case K::kHash:
        out += base32hex_encode(field.subspan(1));
        break;
      case K::kTypeBitmap:
        append_type_bitmap(out, field);
        break;
      case K::kCaaTag:
        out.append(reinterpret_cast<const char*>(field.data() + 1), field.size() - 1);
        break;
      case K::kCaaValue:
      case K::kUriTarget:
        append_quoted_text(out, field);
        break;
      case K::kSvcParams:
        append_svc_params_text(out, field);
        break;
    }
    // Empty trailing fields (no bitmap, empty key) leave no dangling space.
    if (out.size() == before + 1 && before != 0) out.resize(before);
    pos += n;
  }
  return out;
}

bool tokenize_rdata(std::string_view text, std::vector<TextToken>& tokens) {
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    if (c == '"') {
      std::size_t start = ++i;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      if (i >= text.size()) return false;
      tokens.push_back({text.substr(start, i - start), true});
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size()) {
      char ch = text[i];
      if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') break;
      if (ch == '\\') {
        i += 2;
        continue;
      }
      if (ch == '"') {  // key="quoted value" inside one token
        ++i;
        while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
        if (i >= text.size()) return false;
      }
      ++i;
    }
    if (i > text.size()) i = text.size();
    tokens.push_back({text.substr(start, i - start), false});
  }
  return true;
}

namespace {

template <typename T>
bool parse_uint(std::string_view s, T max, T& value) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > max) return false;
  value = static_cast<T>(v);
  return true;
}

bool parse_time(std::string_view s, std::uint32_t& t) {
  if (s.size() == 14) {
    for (char c : s)
      if (c < '0' || c > '9') return false;
    auto num = [&](std::size_t a, std::size_t n) {
      unsigned v = 0;
      for (std::size_t i = a; i < a + n; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
      return v;
    };
    unsigned y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(8, 2), mi = num(10, 2), se = num(12, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
    std::int64_t secs = days_from_civil(static_cast<int>(y), mo, d) * 86400 + h * 3600 + mi * 60 + se;
    // RFC 4034 §3.1.5: serial number arithmetic, so values wrap modulo 2^32.
    t = static_cast<std::uint32_t>(secs);
    return true;
  }
  if (s.size() > 10) return false;
  return parse_uint<std::uint32_t>(s, 0xFFFFFFFFu, t);
}

bool append_type_bitmap_text(std::span<const TextToken> tokens, Bytes& out, std::string* error) {
  std::vector<std::uint16_t> types;
  for (const auto& t : tokens) {
    auto type = rr_type_from_string(t.text);
    if (!type) {
      *error = "unknown type '" + std::string(t.text) + "' in type bitmap";
      return false;
    }
    types.push_back(static_cast<std::uint16_t>(*type));
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::size_t i = 0;
  while (i < types.size()) {
    unsigned window = types[i] >> 8;
    std::uint8_t bits[32] = {};
    std::size_t len = 0;
    while (i < types.size() && (types[i] >> 8) == window) {
      unsigned low = types[i] & 0xFF;
      bits[low / 8] |= static_cast<std::uint8_t>(0x80 >> (low % 8));
      len = low / 8 + 1;
      ++i;
    }
    out.push_back(static_cast<std::uint8_t>(window));
    out.push_back(static_cast<std::uint8_t>(len));
    out.insert(out.end(), bits, bits + len);
  }
  return true;
}

std::string joined(std::span<const TextToken> tokens) {
  std::string s;
  for (const auto& t : tokens) s += t.text;
  return s;
}

std::optional<Bytes> parse_generic(std::span<const TextToken> tokens, std::string* error) {
  std::size_t len = 0;
  if (tokens.size() < 2 || !parse_uint<std::size_t>(tokens[1].text, 65535, len)) {
    *error = "\\# needs a decimal length (0-65535)";
    return std::nullopt;
  }
  auto data = core::hex_decode(joined(tokens.subspan(2)));
  if (!data) {
    *error = "\\# data is not valid hex";
    return std::nullopt;
  }
  if (data->size() != len) {
    *error = "\\# length " + std::to_string(len) + " does not match " + std::to_string(data->size()) +
             " octets of data";
    return std::nullopt;
  }
  return data;
}

}  // namespace

std::optional<Bytes> rdata_from_text(RRType type, std::span<const TextToken> tokens, const Name& origin,
                                     std::string* error) {
  std::string scratch;
  if (!error) error = &scratch;
  auto fail = [&](std::string why) -> std::optional<Bytes> {
    *error = std::move(why);
    return std::nullopt;
  };
  if (!tokens.empty() && !tokens[0].quoted && tokens[0].text == "\\#") {
    auto data = parse_generic(tokens, error);
    if (!data) return std::nullopt;
    if (!is_valid_rdata(type, *data)) return fail("\\# data is not valid " + to_string(type) + " RDATA");
    return data;
  }
  const RdataLayout* layout = rdata_layout(type);
  if (!layout) return fail("type " + to_string(type) + " needs the generic form \\# <length> <hex>");
  Bytes out;
  std::size_t ti = 0;
  for (const FieldDesc& f : layout->fields) {
    const bool rest_field = f.kind == K::kCharStrings || f.kind == K::kBase64 || f.kind == K::kHex ||
                            f.kind == K::kTypeBitmap || f.kind == K::kSvcParams;
    if (!rest_field && ti >= tokens.size()) return fail("missing " + std::string(f.name) + " field");
    const TextToken* tok = rest_field ? nullptr : &tokens[ti];
    std::string field_name(f.name);
    switch (f.kind) {
      case K::kCompressedName:
      case K::kName:
      case K::kPlainName: {
        std::string_view why;
        std::optional<Name> name = tok->text == "@" && !tok->quoted
                                       ? std::optional<Name>(origin)
                                       : Name::from_text(tok->text, &origin, &why);
        if (!name) return fail(field_name + ": " + std::string(why));
        out.insert(out.end(), name->wire().begin(), name->wire().end());
        break;
      }
      case K::kU8: {
        std::uint8_t v;
        if (!parse_uint<std::uint8_t>(tok->text, 255, v)) return fail(field_name + ": expected 0-255");
        out.push_back(v);
        break;
      }
      case K::kU16: {
        std::uint16_t v;
        if (!parse_uint<std::uint16_t>(tok->text, 65535, v)) return fail(field_name + ": expected 0-65535");
        put16(out, v);
        break;
      }
      case K::kU32: {
        std::uint32_t v;
        if (!parse_uint<std::uint32_t>(tok->text, 0xFFFFFFFFu, v))
          return fail(field_name + ": expected 0-4294967295");
        put32(out, v);
        break;
      }
      case K::kTtl: {
        auto v = parse_ttl(tok->text);
        if (!v) return fail(field_name + ": expected a number of seconds or 1h30m style duration");
        put32(out, *v);
        break;
      }
      case K::kTime: {
        std::uint32_t v;
        if (!parse_time(tok->text, v)) return fail(field_name + ": expected YYYYMMDDHHmmSS or seconds");
        put32(out, v);
        break;
      }
      case K::kType: {
        auto t = rr_type_from_string(tok->text);
        if (!t) return fail(field_name + ": unknown type '" + std::string(tok->text) + "'");
        put16(out, static_cast<std::uint16_t>(*t));
        break;
      }
      case K::kIPv4:
      case K::kIPv6: {
        std::string s(tok->text);
        std::uint8_t buf[16];
        int af = f.kind == K::kIPv4 ? AF_INET : AF_INET6;
        if (inet_pton(af, s.c_str(), buf) != 1)
          return fail("'" + s + "' is not an " + (af == AF_INET ? "IPv4" : "IPv6") + " address");
        out.insert(out.end(), buf, buf + (af == AF_INET ? 4 : 16));
        break;
      }
      case K::kCharString: {
        auto s = unescape_text(tok->text);
        if (!s) return fail(field_name + ": bad escape");
        if (s->size() > 255) return fail(field_name + ": string longer than 255 octets");
        out.push_back(static_cast<std::uint8_t>(s->size()));
        out.insert(out.end(), s->begin(), s->end());
        break;
      }
      case K::kCharStrings: {
        if (ti >= tokens.size()) return fail("missing text");
        for (; ti < tokens.size(); ++ti) {
          auto s = unescape_text(tokens[ti].text);
          if (!s) return fail("text: bad escape");
          // Long strings are split into 255-octet character-strings.
          std::size_t p = 0;
          do {
            std::size_t n = std::min<std::size_t>(255, s->size() - p);
            out.push_back(static_cast<std::uint8_t>(n));
            out.insert(out.end(), s->begin() + static_cast<std::ptrdiff_t>(p),
                       s->begin() + static_cast<std::ptrdiff_t>(p + n));
            p += n;
          } while (p < s->size());
        }
        break;
      }
      case K::kBase64: {
        std::string text = joined(tokens.subspan(ti));
        ti = tokens.size();
        auto data = core::base64_decode(text);
        if (!data) return fail(field_name + ": invalid base64");
        out.insert(out.end(), data->begin(), data->end());
        break;
      }
      case K::kHex: {
        std::string text = joined(tokens.subspan(ti));
        ti = tokens.size();
        auto data = core::hex_decode(text);
        if (!data) return fail(field_name + ": invalid hex");
        out.insert(out.end(), data->begin(), data->end());
        break;
      }
      case K::kSalt: {
        if (tok->text == "-") {
          out.push_back(0);
          break;
        }
        auto data = core::hex_decode(tok->text);
        if (!data || data->empty() || data->size() > 255) return fail(field_name + ": expected hex or '-'");
        out.push_back(static_cast<std::uint8_t>(data->size()));
        out.insert(out.end(), data->begin(), data->end());
        break;
      }
      case K::kHash: {
        auto data = base32hex_decode(tok->text);
        if (!data || data->empty() || data->size() > 255) return fail(field_name + ": invalid base32hex");
        out.push_back(static_cast<std::uint8_t>(data->size()));
        out.insert(out.end(), data->begin(), data->end());
        break;
      }
      case K::kTypeBitmap:
        if (!append_type_bitmap_text(tokens.subspan(ti), out, error)) return std::nullopt;
        ti = tokens.size();
        break;
      case K::kCaaTag: {
        auto s = unescape_text(tok->text);
        if (!s || s->size() > 255 || !valid_caa_tag(s->data(), s->size()))
          return fail("tag: expected 1-255 letters and digits");
        out.push_back(static_cast<std::uint8_t>(s->size()));
        out.insert(out.end(), s->begin(), s->end());
        break;
      }
      case K::kCaaValue:
      case K::kUriTarget: {
        auto s = unescape_text(tok->text);
        if (!s) return fail(field_name + ": bad escape");
        out.insert(out.end(), s->begin(), s->end());
        break;
      }
      case K::kSvcParams:
        if (!svc_params_from_text(tokens.subspan(ti), out, error)) return std::nullopt;
        ti = tokens.size();
        break;
    }
    if (!rest_field) ++ti;
  }
  if (ti != tokens.size()) return fail("unexpected '" + std::string(tokens[ti].text) + "' after the RDATA");
  if (out.size() > 65535) return fail("RDATA longer than 65535 octets");
  if (!is_valid_rdata(type, out)) return fail("invalid " + to_string(type) + " RDATA");
  return out;
}

std::optional<Bytes> rdata_from_text(RRType type, std::string_view text, const Name& origin,
                                     std::string* error) {
  std::vector<TextToken> tokens;
  if (!tokenize_rdata(text, tokens)) {
    if (error) *error = "unterminated quoted string";
    return std::nullopt;
  }
  return rdata_from_text(type, std::span<const TextToken>(tokens), origin, error);
}

}  // namespace basalt::dns
