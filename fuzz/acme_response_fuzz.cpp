// Everything the ACME client parses from a CA's responses, fed the same
// untrusted bytes: problem documents, the RFC 8555 §7.1 resources, the
// certificate download (as the chain, with a fixed key that matches the
// seed chain's leaf) and Retry-After. Beyond not crashing, checks the
// promises of the headers: a refusal always says why, naming the resource,
// and a Retry-After wait is never negative nor beyond the ten-year cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "basalt/acme/certificate_store.hpp"
#include "basalt/acme/problem.hpp"
#include "basalt/acme/resources.hpp"
#include "basalt/acme/retry_after.hpp"

namespace {

// Generated once with core::generate_self_signed for example.com and
// *.example.com; fuzz/corpus/acme_response_fuzz/chain.pem holds its certificate.
constexpr std::string_view kKey =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbBEIECj3uuMcxeAD\n"
    "ImiDGxOH6MTStkkoMIYB79sNrgahRANCAAQsBw8YmhuXwwl6Hx50I8P+Votbfpyw\n"
    "WTfx7iH84xqot33MAIeActNbR7AfMPSawChSHcNfo8ZKmy3VyEeWcWW5\n"
    "-----END PRIVATE KEY-----\n";

void check(bool ok) {
  if (!ok) std::abort();
}

// A refusal names the resource: `order: "status" is missing`.
template <typename T>
void check_refusal(const T& parsed, const std::string& error, std::string_view what) {
  if (parsed) return;
  check(error.starts_with(what) && error.size() > what.size() && error[what.size()] == ':');
}

void use(const basalt::acme::Problem& p) {
  (void)p.to_string();
  (void)p.is("badNonce");
  check(p.short_type().size() <= p.type.size());
}

void use(const std::optional<basalt::acme::Problem>& p) {
  if (p) use(*p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace basalt::acme;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto p = parse_problem(input, 400)) {
    use(*p);
    check(p->status >= 100 && p->status <= 599);
  }
  {
    std::string error;
    auto d = parse_directory(input, &error);
    check_refusal(d, error, "directory");
  }
  {
    std::string error;
    auto a = parse_account(input, &error);
    check_refusal(a, error, "account");
  }
  {
    std::string error;
    auto o = parse_order(input, &error);
    check_refusal(o, error, "order");
    if (o) use(o->error);
  }
  {
    std::string error;
    auto a = parse_authorization(input, &error);
    check_refusal(a, error, "authorization");
    if (a)
      for (const auto& c : a->challenges) use(c.error);
  }
  {
    std::string error;
    auto c = parse_challenge(input, &error);
    check_refusal(c, error, "challenge");
    if (c) use(c->error);
  }
  {
    std::string error;
    auto c = parse_certificate(std::string(input), std::string(kKey), &error);
    check(c.has_value() || !error.empty());
    if (c) check(c->covers_exactly(c->domains));
  }
  {
    // 2025-01-01T00:00:00Z, and the epoch.
    constexpr std::int64_t kTenYears = 10LL * 365 * 24 * 3600;
    for (std::int64_t at : {1735689600LL, 0LL}) {
      auto wait = parse_retry_after(input, std::chrono::system_clock::from_time_t(at));
      if (wait) check(wait->count() >= 0 && wait->count() <= kTenYears);
    }
  }
  return 0;
}
