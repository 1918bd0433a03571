// The PROXY protocol header parser as the proxy runs it: on every prefix of
// the bytes received so far. A prefix of a complete header must ask for more;
// a header parsed is written again (v2, and v1 for its addresses) and must
// read back the same.
#include "l4/proxy_header.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

namespace {

using basalt::proxy::ProxyHeaderStatus;

std::span<const std::uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The same endpoint once written again: IPv4-mapped addresses go as IPv4.
bool same(const std::optional<basalt::core::Endpoint>& a, const std::optional<basalt::core::Endpoint>& b) {
  if (!a || !b) return !a && !b;
  return a->port == b->port && a->address.unmapped() == b->address.unmapped();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = (data[0] % 32) + 1;
  std::span<const std::uint8_t> input(data + 1, size - 1);

  const auto whole = basalt::proxy::parse_proxy_header(input);
  if (whole.status == ProxyHeaderStatus::kInvalid && whole.error.empty()) std::abort();
  if (whole.status != ProxyHeaderStatus::kDone) {
    if (whole.status == ProxyHeaderStatus::kNeedMore && input.size() >= basalt::proxy::kMaxProxyHeaderBytes)
      std::abort();  // the bound must decide
    return 0;
  }
  if (whole.size == 0 || whole.size > input.size() || whole.size > basalt::proxy::kMaxProxyHeaderBytes)
    std::abort();
  // Bytes arriving in pieces: every shorter prefix asks for more, the whole
  // header gives the same answer whatever follows it.
  for (std::size_t n = 0; n < whole.size; n += chunk) {
    if (basalt::proxy::parse_proxy_header(input.first(n)).status != ProxyHeaderStatus::kNeedMore)
      std::abort();
  }
  const auto exact = basalt::proxy::parse_proxy_header(input.first(whole.size));
  if (exact.status != ProxyHeaderStatus::kDone || exact.size != whole.size || !(exact.header == whole.header))
    std::abort();

  auto header = whole.header;
  header.version = 2;
  const std::string v2 = basalt::proxy::write_proxy_header(2, header);
  const auto back = basalt::proxy::parse_proxy_header(span_of(v2));
  if (back.status != ProxyHeaderStatus::kDone || back.size != v2.size()) std::abort();
  if (!same(back.header.source, header.source) || !same(back.header.destination, header.destination))
    std::abort();
  if (header.source && (back.header.alpn != header.alpn || back.header.authority != header.authority ||
                        back.header.ssl != header.ssl))
    std::abort();
  const std::string v1 = basalt::proxy::write_proxy_header(1, header);
  const auto back1 = basalt::proxy::parse_proxy_header(span_of(v1));
  if (back1.status != ProxyHeaderStatus::kDone || back1.size != v1.size() ||
      !same(back1.header.source, header.source) || !same(back1.header.destination, header.destination))
    std::abort();
  return 0;
}
