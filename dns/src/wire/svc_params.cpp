#include "basalt/dns/wire/svc_params.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "basalt/core/encoding.hpp"
#include "wire/text_escape.hpp"

namespace basalt::dns {
namespace {

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

constexpr std::pair<SvcParamKey, std::string_view> kKeyNames[] = {
    {SvcParamKey::kMandatory, "mandatory"},
    {SvcParamKey::kAlpn, "alpn"},
    {SvcParamKey::kNoDefaultAlpn, "no-default-alpn"},
    {SvcParamKey::kPort, "port"},
    {SvcParamKey::kIpv4Hint, "ipv4hint"},
    {SvcParamKey::kEch, "ech"},
    {SvcParamKey::kIpv6Hint, "ipv6hint"},
    {SvcParamKey::kDohPath, "dohpath"},
    {SvcParamKey::kOhttp, "ohttp"}};

bool valid_value(std::uint16_t key, const std::uint8_t* v, std::size_t n) {
  switch (static_cast<SvcParamKey>(key)) {
    case SvcParamKey::kMandatory:
      if (n == 0 || n % 2) return false;
      for (std::size_t i = 2; i < n; i += 2)
        if (get16(v + i) <= get16(v + i - 2)) return false;
      return true;
    case SvcParamKey::kAlpn: {
      if (n == 0) return false;
      std::size_t p = 0;
      while (p < n) {
        if (v[p] == 0) return false;
        p += 1u + v[p];
      }
      return p == n;
    }
    case SvcParamKey::kNoDefaultAlpn:
    case SvcParamKey::kOhttp:
      return n == 0;
    case SvcParamKey::kPort:
      return n == 2;
    case SvcParamKey::kIpv4Hint:
      return n > 0 && n % 4 == 0;
    case SvcParamKey::kIpv6Hint:
      return n > 0 && n % 16 == 0;
    default:
      return true;
  }
}

// Escapes a value item: like zone text, plus ',' so lists stay unambiguous.
void append_escaped(std::string& out, const std::uint8_t* p, std::size_t n, bool escape_comma) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t c = p[i];
    if (c == '"' || c == '\\' || (escape_comma && c == ',') || c == ';' || c == '(' || c == ')') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c <= 0x20 || c >= 0x7F) {
      char buf[4] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                     static_cast<char>('0' + c % 10)};
      out.append(buf, 4);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

// Splits on commas that are not escaped.
std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == ',') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace

std::string to_string(SvcParamKey key) {
  for (const auto& [k, name] : kKeyNames)
    if (k == key) return std::string(name);
  return "key" + std::to_string(static_cast<unsigned>(key));
}

std::optional<SvcParamKey> svc_param_key_from_string(std::string_view text) {
  for (const auto& [k, name] : kKeyNames)
    if (name == text) return k;
  if (text.size() > 3 && text.size() <= 8 && text.substr(0, 3) == "key") {
    unsigned v = 0;
    auto d = text.substr(3);
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
    if (ec == std::errc{} && p == d.data() + d.size() && v <= 65535) return static_cast<SvcParamKey>(v);
  }
  return std::nullopt;
}

bool svc_params_valid(ByteSpan params) {
  std::size_t pos = 0;
  int last = -1;
  while (pos < params.size()) {
    if (params.size() - pos < 4) return false;
    std::uint16_t key = get16(&params[pos]);
    std::size_t len = get16(&params[pos + 2]);
    if (static_cast<int>(key) <= last || params.size() - pos - 4 < len) return false;
    if (!valid_value(key, &params[pos + 4], len)) return false;
    last = key;
    pos += 4 + len;
  }
  return true;
}

void append_svc_params_text(std::string& out, ByteSpan params) {
  std::size_t pos = 0;
  while (pos + 4 <= params.size()) {
    std::uint16_t key = get16(&params[pos]);
    std::size_t len = get16(&params[pos + 2]);
    const std::uint8_t* v = &params[pos + 4];
    if (pos) out.push_back(' ');
    out += to_string(static_cast<SvcParamKey>(key));
    switch (static_cast<SvcParamKey>(key)) {
      case SvcParamKey::kNoDefaultAlpn:
      case SvcParamKey::kOhttp:
        break;
      case SvcParamKey::kMandatory:
        out.push_back('=');
        for (std::size_t i = 0; i < len; i += 2) {
          if (i) out.push_back(',');
          out += to_string(static_cast<SvcParamKey>(get16(v + i)));
        }
        break;
      case SvcParamKey::kAlpn:
        out.push_back('=');
        for (std::size_t p = 0; p < len; p += 1u + v[p]) {
          if (p) out.push_back(',');
          append_escaped(out, v + p + 1, v[p], true);
        }
        break;
      case SvcParamKey::kPort:
        out.push_back('=');
        out += std::to_string(get16(v));
        break;
      case SvcParamKey::kIpv4Hint:
      case SvcParamKey::kIpv6Hint: {
        out.push_back('=');
        bool v4 = key == static_cast<std::uint16_t>(SvcParamKey::kIpv4Hint);
        std::size_t step = v4 ? 4 : 16;
        for (std::size_t i = 0; i < len; i += step) {
          if (i) out.push_back(',');
          char buf[INET6_ADDRSTRLEN];
          inet_ntop(v4 ? AF_INET : AF_INET6, v + i, buf, sizeof buf);
          out += buf;
        }
        break;
      }
      case SvcParamKey::kEch:
        out.push_back('=');
        out += core::base64_encode(ByteSpan(v, len));
        break;
      default:
        if (len) {
          out.push_back('=');
          append_escaped(out, v, len, false);
        }
    }
    pos += 4 + len;
  }
}

bool svc_params_from_text(std::span<const TextToken> tokens, Bytes& out, std::string* error) {
  std::map<std::uint16_t, Bytes> params;
  for (const auto& tok : tokens) {
    std::string_view t = tok.text;
    std::size_t eq = t.find('=');
    std::string_view key_text = t.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : t.substr(eq + 1);
    bool has_value = eq != std::string_view::npos;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    auto key = svc_param_key_from_string(key_text);
    if (!key) {
      *error = "unknown SvcParam key '" + std::string(key_text) + "'";
      return false;
    }
    auto k = static_cast<std::uint16_t>(*key);
    if (params.count(k)) {
      *error = "duplicate SvcParam key '" + std::string(key_text) + "'";
      return false;
    }
    Bytes v;
    auto bad = [&](std::string_view what) {
      *error = std::string(key_text) + ": " + std::string(what);
      return false;
    };
    switch (*key) {
      case SvcParamKey::kNoDefaultAlpn:
      case SvcParamKey::kOhttp:
        if (has_value && !value.empty()) return bad("takes no value");
        break;
      case SvcParamKey::kMandatory:
        for (auto part : split_commas(value)) {
          auto mk = svc_param_key_from_string(part);
          if (!mk) return bad("unknown key in list");
          v.push_back(static_cast<std::uint8_t>(static_cast<std::uint16_t>(*mk) >> 8));
          v.push_back(static_cast<std::uint8_t>(static_cast<std::uint16_t>(*mk)));
        }
        {
          // Keys must be sorted and unique on the wire.
          std::vector<std::uint16_t> keys;
          for (std::size_t i = 0; i < v.size(); i += 2)
            keys.push_back(static_cast<std::uint16_t>((v[i] << 8) | v[i + 1]));
          std::sort(keys.begin(), keys.end());
          if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) return bad("duplicate key in list");
          v.clear();
          for (auto mk : keys) {
            v.push_back(static_cast<std::uint8_t>(mk >> 8));
            v.push_back(static_cast<std::uint8_t>(mk));
          }
        }
        break;
      case SvcParamKey::kAlpn:
        for (auto part : split_commas(value)) {
          auto id = unescape_text(part);
          if (!id || id->empty() || id->size() > 255) return bad("each protocol id must be 1-255 octets");
          v.push_back(static_cast<std::uint8_t>(id->size()));
          v.insert(v.end(), id->begin(), id->end());
        }
        break;
      case SvcParamKey::kPort: {
        unsigned port = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
        if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || port > 65535)
          return bad("expected a port number 0-65535");
        v.push_back(static_cast<std::uint8_t>(port >> 8));
        v.push_back(static_cast<std::uint8_t>(port));
        break;
      }
      case SvcParamKey::kIpv4Hint:
      case SvcParamKey::kIpv6Hint: {
        bool v4 = *key == SvcParamKey::kIpv4Hint;
        for (auto part : split_commas(value)) {
          std::string s(part);
          std::uint8_t buf[16];
          if (inet_pton(v4 ? AF_INET : AF_INET6, s.c_str(), buf) != 1)
            return bad("invalid address '" + s + "'");
          v.insert(v.end(), buf, buf + (v4 ? 4 : 16));
        }
        break;
      }
      case SvcParamKey::kEch: {
        auto d = core::base64_decode(value);
        if (!d) return bad("invalid base64");
        v = std::move(*d);
        break;
      }
      default: {
        auto d = unescape_text(value);
        if (!d) return bad("bad escape");
        v = std::move(*d);
      }
    }
    if (v.size() > 65535) return bad("value too long");
    params.emplace(k, std::move(v));
  }
  for (const auto& [k, v] : params) {
    out.push_back(static_cast<std::uint8_t>(k >> 8));
    out.push_back(static_cast<std::uint8_t>(k));
    out.push_back(static_cast<std::uint8_t>(v.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
  }
  return true;
}

}  // namespace basalt::dns
