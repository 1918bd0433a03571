// Response rate limiting (RRL) of UDP answers, as Knot DNS's `rrl` module and
// BIND's `rate-limit` do: a source whose address may be forged cannot make
// the server send more than a set rate of answers to it, so the server is a
// poor amplifier and a random-subdomain flood from one network costs it
// little outgoing traffic. Each answer is counted against a token bucket
// keyed by the client's network (a /24 or /56 prefix), the kind of answer
// (ResponseKind) and a name: the question name and type for answers and
// NODATA, the zone for NXDOMAIN and errors (an attack on one zone does not
// limit another). An answer over the limit is dropped, or every `slip`-th one
// goes out truncated (TC, no records) so that a real client behind the
// forged address retries over TCP. See docs/dns.md, "Response rate limiting".
//
// The buckets live in a fixed table (`table_size` slots in sets of four, each
// set behind its own spin lock), so any number of sources costs bounded
// memory and workers rarely touch the same lock; a new key takes an empty
// slot of its set, else the one that would hold the most tokens (the least
// limited), so a flood of new sources does not release a limited one. A
// bucket counts as limited from the first answer it refuses until it has
// filled up again; that is when the log says it started and stopped.
//
// Thread-safety: check() and rate_limit_answer() may be called from every
// worker at once.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/dns/server/query_state.hpp"
#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/zone/zone_set.hpp"

namespace basalt::dns {

// What an answer is, for its bucket and its rate. Knot also tells apart
// wildcard, ANY, DNSSEC and large answers, BIND referrals; here a referral is
// NODATA (no answer records) and the rest are answers.
enum class ResponseKind : std::uint8_t {
  kAnswer,    // NOERROR with answer records
  kNodata,    // NOERROR without (also referrals)
  kNxdomain,  // NXDOMAIN
  kError,     // any other rcode (REFUSED, FORMERR, SERVFAIL, ...)
};
inline constexpr std::size_t kResponseKinds = 4;
std::string_view to_string(ResponseKind kind) noexcept;
ResponseKind response_kind(const QueryState& state) noexcept;

struct RateLimits {
  // Answers per second per bucket, by ResponseKind; 0: that kind is not limited.
  std::array<std::uint32_t, kResponseKinds> rate{20, 20, 20, 20};
  // A bucket holds this much of its rate: what an idle source may get at once.
  std::chrono::nanoseconds burst = std::chrono::seconds(4);
  unsigned slip = 2;  // every slip-th limited answer goes out truncated; 0: none
  int prefix_v4 = 24;
  int prefix_v6 = 56;
  std::size_t table_size = 100'000;  // buckets (rounded up to a multiple of 4)
  std::vector<core::Cidr> exempt;    // never limited
  bool log = true;                   // log when a bucket starts and stops being limited
};

enum class RrlVerdict { kSend, kDrop, kSlip };

class ResponseRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ResponseRateLimiter(RateLimits limits);
  ~ResponseRateLimiter();
  ResponseRateLimiter(const ResponseRateLimiter&) = delete;
  ResponseRateLimiter& operator=(const ResponseRateLimiter&) = delete;

  bool exempt(const core::IpAddress& client) const noexcept;

  // Counts one answer of `kind` to `client` at `now` against its bucket,
  // keyed by the client's network, `kind`, `name` (null: none) and `type`,
  // and says whether to send it, drop it or send it truncated. Does not look
  // at the exempt list.
  RrlVerdict check(const core::IpAddress& client, ResponseKind kind, const Name* name, RRType type,
                   Clock::time_point now) noexcept;

  const RateLimits& limits() const noexcept { return limits_; }
  std::size_t slots() const noexcept;
  std::size_t slots_in_use() const noexcept;  // (for tests; takes every lock in turn)

 private:
  struct Bucket;
  struct Set;
  double capacity(ResponseKind kind) const noexcept;
  void log_change(const core::IpAddress& client, ResponseKind kind, const Name* name, RRType type,
                  bool started, std::uint32_t limited, Clock::time_point now) noexcept;

  RateLimits limits_;
  std::uint64_t seed_;
  std::size_t set_count_;
  std::unique_ptr<Set[]> sets_;
  // At most a few log lines a second, however many buckets change.
  std::atomic<std::int64_t> log_second_{0};
  std::atomic<std::uint32_t> log_lines_{0};
  std::atomic<std::uint64_t> log_held_{0};
};

struct RrlOutcome {
  RrlVerdict verdict = RrlVerdict::kSend;
  ResponseKind kind = ResponseKind::kAnswer;
};

// Applies `limiter` to the answer for `state` of `size` octets in `out`.
// Only UDP answers with a known client are limited (over TCP and HTTPS the
// source cannot be forged), and never those to an exempt client or to a
// query with a valid server cookie. kDrop: send nothing. kSlip: `out` now
// holds the header and question with TC set (and the OPT record if the
// query had EDNS), `size` its length. `zones` gives the zone of an NXDOMAIN
// or error answer (its bucket's name). Never throws.
RrlOutcome rate_limit_answer(ResponseRateLimiter& limiter, const QueryState& state, const ZoneSet& zones,
                             std::uint16_t max_udp_payload, std::span<std::uint8_t> out, std::size_t& size,
                             ResponseRateLimiter::Clock::time_point now) noexcept;

}  // namespace basalt::dns
