#include "basalt/dns/wire/edns.hpp"

#include <algorithm>

namespace basalt::dns {

std::optional<Edns> Edns::from_record(std::uint16_t rclass, std::uint32_t ttl, ByteSpan rdata) {
  Edns e;
  e.udp_payload_size = rclass;
  e.extended_rcode = static_cast<std::uint8_t>(ttl >> 24);
  e.version = static_cast<std::uint8_t>(ttl >> 16);
  e.dnssec_ok = ttl & 0x8000u;
  e.z = static_cast<std::uint16_t>(ttl & 0x7FFFu);
  bool ok = for_each_edns_option(rdata, [&](std::uint16_t code, ByteSpan data) {
    e.options.push_back({code, Bytes(data.begin(), data.end())});
    return true;
  });
  if (!ok) return std::nullopt;
  return e;
}

Bytes Edns::rdata() const {
  Bytes out;
  for (const auto& o : options) {
    out.push_back(static_cast<std::uint8_t>(o.code >> 8));
    out.push_back(static_cast<std::uint8_t>(o.code));
    out.push_back(static_cast<std::uint8_t>(o.data.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(o.data.size()));
    out.insert(out.end(), o.data.begin(), o.data.end());
  }
  return out;
}

const EdnsOption* Edns::find(EdnsOptionCode code) const noexcept {
  for (const auto& o : options)
    if (o.code == static_cast<std::uint16_t>(code)) return &o;
  return nullptr;
}

std::optional<Cookie> Cookie::parse(ByteSpan data) noexcept {
  if (data.size() != 8 && (data.size() < 16 || data.size() > 40)) return std::nullopt;
  Cookie c;
  std::copy_n(data.begin(), 8, c.client.begin());
  c.server_size = static_cast<std::uint8_t>(data.size() - 8);
  std::copy(data.begin() + 8, data.end(), c.server.begin());
  return c;
}

void Cookie::append_to(Bytes& out) const {
  out.insert(out.end(), client.begin(), client.end());
  out.insert(out.end(), server.begin(), server.begin() + server_size);
}

}  // namespace basalt::dns
