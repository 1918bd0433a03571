// The 12-octet DNS message header (RFC 1035 §4.1.1, flags AD/CD from RFC 4035).
//
// A plain value type; decode/encode work on raw octets and never fail (the
// caller checks there are 12 octets). Thread-safe as any value.
#pragma once

#include <cstdint>

#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns {

struct Header {
  static constexpr std::size_t kSize = 12;

  std::uint16_t id = 0;
  bool qr = false;  // response
  Opcode opcode = Opcode::kQuery;
  bool aa = false;         // authoritative answer
  bool tc = false;         // truncated
  bool rd = false;         // recursion desired
  bool ra = false;         // recursion available
  bool z = false;          // reserved bit, kept as received
  bool ad = false;         // authentic data
  bool cd = false;         // checking disabled
  std::uint8_t rcode = 0;  // low 4 bits; EDNS carries the upper 8
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  std::uint16_t flags() const noexcept {
    return static_cast<std::uint16_t>((qr << 15) | ((static_cast<unsigned>(opcode) & 15) << 11) | (aa << 10) |
                                      (tc << 9) | (rd << 8) | (ra << 7) | (z << 6) | (ad << 5) | (cd << 4) |
                                      (rcode & 15));
  }
  void set_flags(std::uint16_t f) noexcept {
    qr = f & 0x8000;
    opcode = static_cast<Opcode>((f >> 11) & 15);
    aa = f & 0x0400;
    tc = f & 0x0200;
    rd = f & 0x0100;
    ra = f & 0x0080;
    z = f & 0x0040;
    ad = f & 0x0020;
    cd = f & 0x0010;
    rcode = static_cast<std::uint8_t>(f & 15);
  }

  // Reads 12 octets at `p`.
  static Header decode(const std::uint8_t* p) noexcept {
    Header h;
    h.id = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
    h.set_flags(static_cast<std::uint16_t>((p[2] << 8) | p[3]));
    h.qdcount = static_cast<std::uint16_t>((p[4] << 8) | p[5]);
    h.ancount = static_cast<std::uint16_t>((p[6] << 8) | p[7]);
    h.nscount = static_cast<std::uint16_t>((p[8] << 8) | p[9]);
    h.arcount = static_cast<std::uint16_t>((p[10] << 8) | p[11]);
    return h;
  }
  // Writes 12 octets at `p`.
  void encode(std::uint8_t* p) const noexcept {
    const std::uint16_t v[6] = {id, flags(), qdcount, ancount, nscount, arcount};
    for (int i = 0; i < 6; ++i) {
      p[2 * i] = static_cast<std::uint8_t>(v[i] >> 8);
      p[2 * i + 1] = static_cast<std::uint8_t>(v[i]);
    }
  }

  friend bool operator==(const Header&, const Header&) = default;
};

}  // namespace basalt::dns
