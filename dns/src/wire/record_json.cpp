#include "basalt/dns/wire/record_json.hpp"

#include <arpa/inet.h>

#include <boost/json.hpp>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/base32hex.hpp"
#include "basalt/dns/wire/rdata_layout.hpp"
#include "basalt/dns/wire/svc_params.hpp"
#include "wire/text_escape.hpp"

namespace basalt::dns {
namespace {

using K = FieldKind;
namespace json = boost::json;

std::uint32_t get(const std::uint8_t* p, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

std::string name_json(ByteSpan wire) {
  std::string s = Name::from_wire(wire)->to_string();
  if (s.size() > 1) s.pop_back();  // no trailing dot, except for the root "."
  return s;
}

json::string raw_string(ByteSpan s) {
  return json::string(reinterpret_cast<const char*>(s.data()), s.size());
}

json::value field_json(K kind, ByteSpan f) {
  switch (kind) {
    case K::kCompressedName:
    case K::kName:
    case K::kPlainName:
      return json::string(name_json(f));
    case K::kU8:
    case K::kU16:
    case K::kU32:
    case K::kTtl:
    case K::kTime:
      return get(f.data(), f.size());
    case K::kType:
      return json::string(to_string(static_cast<RRType>(get(f.data(), 2))));
    case K::kIPv4:
    case K::kIPv6: {
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(kind == K::kIPv4 ? AF_INET : AF_INET6, f.data(), buf, sizeof buf);
      return json::string(buf);
    }
    case K::kCharString:
    case K::kCaaTag:
      return raw_string(f.subspan(1));
    case K::kCharStrings: {
      json::array a;
      for (std::size_t p = 0; p < f.size(); p += 1u + f[p]) a.push_back(raw_string(f.subspan(p + 1, f[p])));
      if (a.size() == 1) return a[0];
      return a;
    }
    case K::kBase64:
      return json::string(core::base64_encode(f));
    case K::kHex:
      return json::string(core::hex_encode(f, true));
    case K::kSalt:
      return json::string(core::hex_encode(f.subspan(1), true));
    case K::kHash:
      return json::string(base32hex_encode(f.subspan(1)));
    case K::kTypeBitmap: {
      json::array a;
      std::string text = rdata_to_text(RRType::kNSEC, [&] {
        Bytes b{0};  // root next-name + bitmap gives the mnemonics
        b.insert(b.end(), f.begin(), f.end());
        return b;
      }());
      std::size_t pos = 2;  // skip ". "
      while (pos < text.size()) {
        std::size_t sp = text.find(' ', pos);
        a.push_back(json::string(text.substr(pos, sp - pos)));
        if (sp == std::string::npos) break;
        pos = sp + 1;
      }
      return a;
    }
    case K::kCaaValue:
    case K::kUriTarget:
      return raw_string(f);
    case K::kSvcParams: {
      std::string s;
      append_svc_params_text(s, f);
      return json::string(s);
    }
  }
  return nullptr;
}

// Escapes raw octets so rdata_from_text reads them back unchanged.
std::string escape_raw(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else
      out.push_back(c);
  }
  return out;
}

// Turns one JSON field into presentation tokens (storage kept in `store`).
bool field_tokens(const FieldDesc& f, const json::value& v, std::vector<std::string>& store,
                  std::vector<bool>& quoted, std::string* error) {
  auto bad = [&](std::string_view what) {
    *error = std::string(f.name) + ": " + std::string(what);
    return false;
  };
  switch (f.kind) {
    case K::kU8:
    case K::kU16:
    case K::kU32:
    case K::kTtl:
    case K::kTime:
      if (v.is_int64() || v.is_uint64()) {
        std::int64_t n = v.is_int64() ? v.as_int64() : static_cast<std::int64_t>(v.as_uint64());
        if (n < 0) return bad("must not be negative");
        store.push_back(std::to_string(n));
        quoted.push_back(false);
        return true;
      }
      if (v.is_string() && (f.kind == K::kTtl || f.kind == K::kTime)) break;
      return bad("expected a number");
    case K::kTypeBitmap:
      if (!v.is_array()) return bad("expected an array of type names");
      for (const auto& t : v.as_array()) {
        if (!t.is_string()) return bad("expected an array of type names");
        store.emplace_back(t.as_string());
        quoted.push_back(false);
      }
      return true;
    case K::kCharStrings:
      if (v.is_array()) {
        if (v.as_array().empty()) return bad("needs at least one string");
        for (const auto& t : v.as_array()) {
          if (!t.is_string()) return bad("expected strings");
          store.push_back(escape_raw(t.as_string()));
          quoted.push_back(true);
        }
        return true;
      }
      if (!v.is_string()) return bad("expected a string or an array of strings");
      store.push_back(escape_raw(v.as_string()));
      quoted.push_back(true);
      return true;
    case K::kCharString:
    case K::kCaaValue:
    case K::kUriTarget:
    case K::kCaaTag:
      if (!v.is_string()) return bad("expected a string");
      store.push_back(escape_raw(v.as_string()));
      quoted.push_back(true);
      return true;
    case K::kSvcParams: {
      if (!v.is_string()) return bad("expected a presentation-format string");
      std::vector<TextToken> toks;
      std::string_view sv = v.as_string();
      if (!tokenize_rdata(sv, toks)) return bad("unterminated quote");
      for (const auto& t : toks) {
        store.emplace_back(t.text);
        quoted.push_back(t.quoted);
      }
      return true;
    }
    case K::kSalt:
      if (!v.is_string()) return bad("expected a hex string");
      store.emplace_back(v.as_string().empty() ? std::string("-") : std::string(v.as_string()));
      quoted.push_back(false);
      return true;
    default:
      break;
  }
  if (!v.is_string()) return bad("expected a string");
  store.emplace_back(v.as_string());
  quoted.push_back(false);
  return true;
}

}  // namespace

json::value rdata_to_json(RRType type, ByteSpan rdata) {
  const RdataLayout* layout = rdata_layout(type);
  if (!layout || !is_valid_rdata(type, rdata)) return json::string(rdata_to_text(type, rdata));
  if (layout->fields.size() == 1) {
    return field_json(layout->fields[0].kind, rdata);
  }
  json::object o;
  std::size_t pos = 0;
  for (const FieldDesc& f : layout->fields) {
    std::size_t n = field_length(f.kind, rdata, pos);
    o[f.name] = field_json(f.kind, rdata.subspan(pos, n));
    pos += n;
  }
  return o;
}

std::optional<Bytes> rdata_from_json(RRType type, const json::value& data, std::string* error) {
  std::string scratch;
  if (!error) error = &scratch;
  const RdataLayout* layout = rdata_layout(type);
  const Name root;
  std::vector<std::string> store;
  std::vector<bool> quoted;
  if (!layout || (layout->fields.size() > 1 && data.is_string())) {
    if (!data.is_string()) {
      *error = "expected the RDATA as a presentation-format string";
      return std::nullopt;
    }
    return rdata_from_text(type, std::string_view(data.as_string()), root, error);
  }
  if (layout->fields.size() == 1) {
    if (!field_tokens(layout->fields[0], data, store, quoted, error)) return std::nullopt;
  } else {
    if (!data.is_object()) {
      *error = "expected an object with the " + to_string(type) + " fields or a presentation string";
      return std::nullopt;
    }
    const auto& o = data.as_object();
    for (const FieldDesc& f : layout->fields) {
      const json::value* v = o.if_contains(f.name);
      if (!v) {
        *error = "missing field '" + std::string(f.name) + "'";
        return std::nullopt;
      }
      if (!field_tokens(f, *v, store, quoted, error)) return std::nullopt;
    }
    for (const auto& kv : o) {
      bool known = false;
      for (const FieldDesc& f : layout->fields) known = known || kv.key() == f.name;
      if (!known) {
        *error = "unknown field '" + std::string(kv.key()) + "' for " + to_string(type);
        return std::nullopt;
      }
    }
  }
  std::vector<TextToken> tokens;
  for (std::size_t i = 0; i < store.size(); ++i) tokens.push_back({store[i], quoted[i]});
  return rdata_from_text(type, std::span<const TextToken>(tokens), root, error);
}

json::object record_to_json(const Record& record) {
  json::object o;
  o["name"] = name_json(record.owner.wire());
  o["type"] = to_string(record.type);
  o["class"] = to_string(record.rclass);
  o["ttl"] = record.ttl;
  o["data"] = rdata_to_json(record.type, record.rdata);
  return o;
}

std::optional<Record> record_from_json(const json::value& v, std::string* error, std::uint32_t default_ttl) {
  std::string scratch;
  if (!error) error = &scratch;
  auto fail = [&](std::string why) -> std::optional<Record> {
    *error = std::move(why);
    return std::nullopt;
  };
  if (!v.is_object()) return fail("expected an object");
  const auto& o = v.as_object();
  Record r;
  const auto* name = o.if_contains("name");
  if (!name || !name->is_string()) return fail("name: expected a string");
  std::string_view why;
  auto owner = Name::from_text(std::string_view(name->as_string()), nullptr, &why);
  if (!owner) return fail("name: " + std::string(why));
  r.owner = *owner;
  const auto* type = o.if_contains("type");
  if (!type || !type->is_string()) return fail("type: expected a type name such as \"A\"");
  auto t = rr_type_from_string(std::string_view(type->as_string()));
  if (!t) return fail("type: unknown type '" + std::string(type->as_string()) + "'");
  r.type = *t;
  if (const auto* c = o.if_contains("class")) {
    auto rc = c->is_string() ? rr_class_from_string(std::string_view(c->as_string())) : std::nullopt;
    if (!rc) return fail("class: expected a class name such as \"IN\"");
    r.rclass = *rc;
  }
  r.ttl = default_ttl;
  if (const auto* ttl = o.if_contains("ttl")) {
    if (ttl->is_int64() && ttl->as_int64() >= 0 && ttl->as_int64() <= 0xFFFFFFFF) {
      r.ttl = static_cast<std::uint32_t>(ttl->as_int64());
    } else if (ttl->is_uint64() && ttl->as_uint64() <= 0xFFFFFFFF) {
      r.ttl = static_cast<std::uint32_t>(ttl->as_uint64());
    } else {
      return fail("ttl: expected 0-4294967295");
    }
  }
  const auto* data = o.if_contains("data");
  if (!data) return fail("data: missing");
  std::string err;
  auto rd = rdata_from_json(r.type, *data, &err);
  if (!rd) return fail("data: " + err);
  r.rdata = std::move(*rd);
  return r;
}

}  // namespace basalt::dns
