// What a handler is asked: the question exactly as received (case kept) and
// where it came from.
#pragma once

#include <optional>
#include <string>

#include "basalt/dns/wire/record.hpp"

namespace basalt::dns {

enum class Transport { kUdp, kTcp, kHttps, kManual };

std::string_view to_string(Transport t) noexcept;

struct Query {
  Question question;  // name in the case the client sent (DNS 0x20)
  Transport transport = Transport::kUdp;
  std::string client;  // "127.0.0.1:53124", empty in manual mode
  bool dnssec_ok = false;
};

}  // namespace basalt::dns
