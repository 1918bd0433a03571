// Glob matching speed for DNS-handler-shaped patterns and a pathological one.
#include <benchmark/benchmark.h>

#include <string>

#include "basalt/core/glob.hpp"

namespace {

using basalt::core::Glob;

void BM_GlobWildcardDnsName(benchmark::State& state) {
  auto g = *Glob::compile("*.example.com", {.case_insensitive = true});
  const std::string name = "WwW.sub.ExAmPlE.cOm";
  for (auto _ : state) benchmark::DoNotOptimize(g.match(name));
}
BENCHMARK(BM_GlobWildcardDnsName);

void BM_GlobLiteralMiss(benchmark::State& state) {
  auto g = *Glob::compile("www.example.com");
  const std::string name = "www.example.org";
  for (auto _ : state) benchmark::DoNotOptimize(g.match(name));
}
BENCHMARK(BM_GlobLiteralMiss);

void BM_GlobBraces(benchmark::State& state) {
  auto g = *Glob::compile("{www,mail,ns{1..4}}.example.{com,org,net}");
  const std::string name = "ns3.example.net";
  for (auto _ : state) benchmark::DoNotOptimize(g.match(name));
}
BENCHMARK(BM_GlobBraces);

void BM_GlobPathological(benchmark::State& state) {
  // Ends in '*', so the whole subject goes through the star matcher.
  auto g = *Glob::compile("*a*a*a*a*a*a*a*a*b*");
  const std::string subject(static_cast<std::size_t>(state.range(0)), 'a');
  for (auto _ : state) benchmark::DoNotOptimize(g.match(subject));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_GlobPathological)->Range(64, 4096)->Complexity();

void BM_GlobCompile(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(Glob::compile("*.{a,b,c}.example.com", {.case_insensitive = true}));
}
BENCHMARK(BM_GlobCompile);

}  // namespace
