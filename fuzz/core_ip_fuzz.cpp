// Fuzzes the IP, CIDR and endpoint parsers and checks that formatting
// round-trips: parse(to_string(x)) == x.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "basalt/core/ip.hpp"

using namespace basalt::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto a = IpAddress::parse(text, &error)) {
    auto back = IpAddress::parse(a->to_string());
    if (!back || *back != *a) std::abort();
    if (a->scope_id() == 0 && text.find('%') == std::string_view::npos) {
      // Agrees with the C library on which bytes the text means.
      std::string z(text);
      unsigned char buf[16];
      if (inet_pton(a->is_v4() ? AF_INET : AF_INET6, z.c_str(), buf) == 1 &&
          std::memcmp(buf, a->bytes().data(), a->bytes().size()) != 0) {
        std::abort();
      }
    }
  } else if (error.empty()) {
    std::abort();
  }
  error.clear();
  if (auto c = Cidr::parse(text, &error, (size & 1) != 0)) {
    auto back = Cidr::parse(c->to_string());
    if (!back || *back != *c || !c->contains(c->address())) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  error.clear();
  if (auto e = Endpoint::parse(text, &error, {.default_port = 53, .allow_port_zero = true})) {
    auto back = Endpoint::parse(e->to_string(), nullptr, {.allow_port_zero = true});
    if (!back || *back != *e) std::abort();
    sockaddr_storage ss;
    auto len = e->to_sockaddr(ss);
    auto again = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (!again || *again != *e) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  return 0;
}
