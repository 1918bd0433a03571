// Micro-benchmarks of DNS Cookies on the query path: checking a query's
// cookie and making the answer's (ServerCookies::check), for a client
// cookie alone and for a valid server cookie, with a rotating secret.
#include <benchmark/benchmark.h>

#include "basalt/dns/server/server_cookies.hpp"

namespace basalt::dns {
namespace {

const core::IpAddress kClient = *core::IpAddress::parse("198.51.100.100");

void BM_CookieClientOnly(benchmark::State& state) {
  ServerCookies cookies;
  Cookie c;
  c.client = {0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};
  for (auto _ : state) {
    auto r = cookies.check(c, kClient, ServerCookies::now());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CookieClientOnly);

void BM_CookieValidServerCookie(benchmark::State& state) {
  ServerCookies cookies;
  Cookie c;
  c.client = {0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};
  auto first = cookies.check(c, kClient, ServerCookies::now());
  Cookie back = *Cookie::parse(first.option);
  for (auto _ : state) {
    auto r = cookies.check(back, kClient, ServerCookies::now());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CookieValidServerCookie);

}  // namespace
}  // namespace basalt::dns
