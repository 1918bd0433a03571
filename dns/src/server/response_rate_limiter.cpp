#include "server/response_rate_limiter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <thread>

#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {
namespace {

constexpr std::size_t kWays = 4;
constexpr std::uint32_t kLogLinesPerSecond = 10;

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

std::int64_t ticks(ResponseRateLimiter::Clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view to_string(ResponseKind kind) noexcept {
  switch (kind) {
    case ResponseKind::kAnswer:
      return "answer";
    case ResponseKind::kNodata:
      return "nodata";
    case ResponseKind::kNxdomain:
      return "nxdomain";
    case ResponseKind::kError:
      return "error";
  }
  return "error";
}

ResponseKind response_kind(const QueryState& state) noexcept {
  switch (state.rcode) {
    case Rcode::kNoError:
      return state.answer_ttl ? ResponseKind::kAnswer : ResponseKind::kNodata;
    case Rcode::kNXDomain:
      return ResponseKind::kNxdomain;
    default:
      return ResponseKind::kError;
  }
}

struct ResponseRateLimiter::Bucket {
  std::uint64_t key = 0;  // 0: empty
  std::int64_t last = 0;  // when tokens were last brought up to date (Clock ticks, ns)
  double tokens = 0;
  std::uint32_t limited =
      0;  // answers limited since the bucket ran dry, until it fills up again; 0: not limited
  ResponseKind kind = ResponseKind::kAnswer;
};

struct ResponseRateLimiter::Set {
  std::atomic<bool> busy{false};
  std::array<Bucket, kWays> buckets;

  // Held for a few dozen instructions; if the holder was preempted (more
  // workers than CPUs), give the CPU up rather than spin out a time slice.
  void lock() noexcept {
    for (int spins = 0; busy.exchange(true, std::memory_order_acquire);) {
      while (busy.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() noexcept { busy.store(false, std::memory_order_release); }
};

ResponseRateLimiter::ResponseRateLimiter(RateLimits limits)
    : limits_(std::move(limits)),
      seed_((std::uint64_t{std::random_device{}()} << 32) | std::random_device{}()),
      set_count_(std::max<std::size_t>(1, (limits_.table_size + kWays - 1) / kWays)),
      sets_(new Set[set_count_]) {}

ResponseRateLimiter::~ResponseRateLimiter() = default;

std::size_t ResponseRateLimiter::slots() const noexcept {
  return set_count_ * kWays;
}

std::size_t ResponseRateLimiter::slots_in_use() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < set_count_; ++i) {
    Set& s = sets_[i];
    s.lock();
    for (const auto& b : s.buckets) n += b.key != 0;
    s.unlock();
  }
  return n;
}

bool ResponseRateLimiter::exempt(const core::IpAddress& client) const noexcept {
  for (const auto& c : limits_.exempt) {
    if (c.contains(client)) return true;
  }
  return false;
}

double ResponseRateLimiter::capacity(ResponseKind kind) const noexcept {
  // At least one answer, or a low rate with a short burst would answer nothing.
  double rate = limits_.rate[static_cast<std::size_t>(kind)];
  return std::max(1.0, rate * std::chrono::duration<double>(limits_.burst).count());
}

RrlVerdict ResponseRateLimiter::check(const core::IpAddress& client, ResponseKind kind, const Name* name,
                                      RRType type, Clock::time_point now) noexcept {
  const auto kind_index = static_cast<std::size_t>(kind);
  const double rate = limits_.rate[kind_index];
  if (rate == 0) return RrlVerdict::kSend;

  // The key: the client's network, the kind, the name and type.
  const core::IpAddress address = client.unmapped();
  const core::Cidr network(address, address.is_v4() ? limits_.prefix_v4 : limits_.prefix_v6);
  auto bytes = network.address().bytes();
  std::uint64_t hi = 0, lo = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    (i < 8 ? hi : lo) |= std::uint64_t{bytes[i]} << (8 * (i % 8));
  }
  std::uint64_t key = mix(seed_ ^ hi);
  key = mix(key ^ lo ^ (std::uint64_t{address.is_v4()} << 63));
  key = mix(key ^ (std::uint64_t{kind_index} << 16) ^ static_cast<std::uint16_t>(type));
  if (name) key = mix(key ^ name->hash());
  if (key == 0) key = 1;

  const std::int64_t t = ticks(now);
  const double cap = capacity(kind);
  auto refilled = [&](const Bucket& b) {
    double elapsed = t > b.last ? static_cast<double>(t - b.last) / 1e9 : 0.0;
    return std::min(capacity(b.kind), b.tokens + elapsed * limits_.rate[static_cast<std::size_t>(b.kind)]);
  };

  Set& set = sets_[static_cast<std::size_t>((key >> 32) % set_count_)];
  RrlVerdict verdict = RrlVerdict::kSend;
  bool changed = false, started = false;
  std::uint32_t limited = 0;
  set.lock();
  Bucket* bucket = nullptr;
  for (auto& b : set.buckets) {
    if (b.key == key) {
      bucket = &b;
      break;
    }
  }
  if (bucket) {
    bucket->tokens = refilled(*bucket);
  } else {
    // An empty slot, else the one that would hold the most tokens: the least
    // limited, so that a flood of new keys evicts each other first.
    double most = -1;
    for (auto& b : set.buckets) {
      if (b.key == 0) {
        bucket = &b;
        break;
      }
      if (double r = refilled(b) / capacity(b.kind); r > most) {
        most = r;
        bucket = &b;
      }
    }
    *bucket = Bucket{.key = key, .last = t, .tokens = cap, .limited = 0, .kind = kind};
  }
  bucket->last = std::max(bucket->last, t);
  if (bucket->tokens >= 1) {
    // A limited bucket stops being limited once it has filled up again (the
    // source stayed under the rate for the whole burst), not at each token
    // that trickles in under a steady flood: the log says when it started
    // and when it is over, not every gap.
    const bool full = bucket->tokens >= cap;
    bucket->tokens -= 1;
    if (bucket->limited && full) {
      changed = true;
      limited = bucket->limited;
      bucket->limited = 0;
    }
  } else {
    limited = ++bucket->limited;
    if (limited == 1) changed = started = true;
    verdict = limits_.slip && limited % limits_.slip == 0 ? RrlVerdict::kSlip : RrlVerdict::kDrop;
  }
  set.unlock();
  if (changed && limits_.log) log_change(address, kind, name, type, started, limited, now);
  return verdict;
}

void ResponseRateLimiter::log_change(const core::IpAddress& client, ResponseKind kind, const Name* name,
                                     RRType type, bool started, std::uint32_t limited,
                                     Clock::time_point now) noexcept {
  const std::int64_t second = ticks(now) / 1'000'000'000;
  std::int64_t seen = log_second_.load(std::memory_order_relaxed);
  if (second != seen && log_second_.compare_exchange_strong(seen, second, std::memory_order_relaxed)) {
    log_lines_.store(0, std::memory_order_relaxed);
    if (auto held = log_held_.exchange(0, std::memory_order_relaxed)) {
      spdlog::info("rate limiting: {} more changes not logged", held);
    }
  }
  if (log_lines_.fetch_add(1, std::memory_order_relaxed) >= kLogLinesPerSecond) {
    log_held_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    const core::Cidr network(client, client.is_v4() ? limits_.prefix_v4 : limits_.prefix_v6);
    const bool by_zone = kind == ResponseKind::kNxdomain || kind == ResponseKind::kError;
    std::string subject = name ? name->to_string() : std::string(".");
    if (!by_zone) subject += " " + to_string(type);
    if (started) {
      spdlog::warn("rate limiting {} answers to {} ({} {}): started", to_string(kind), network.to_string(),
                   by_zone ? "zone" : "question", subject);
    } else {
      spdlog::info("rate limiting {} answers to {} ({} {}): stopped after {} limited", to_string(kind),
                   network.to_string(), by_zone ? "zone" : "question", subject, limited);
    }
  } catch (...) {  // (logging must not fail an answer)
  }
}

RrlOutcome rate_limit_answer(ResponseRateLimiter& limiter, const QueryState& state, const ZoneSet& zones,
                             std::uint16_t max_udp_payload, std::span<std::uint8_t> out, std::size_t& size,
                             ResponseRateLimiter::Clock::time_point now) noexcept {
  RrlOutcome outcome{RrlVerdict::kSend, response_kind(state)};
  if (state.query.transport != Transport::kUdp || !state.client || state.valid_server_cookie) return outcome;
  const core::IpAddress& client = state.client->address;
  if (limiter.exempt(client)) return outcome;
  const Name* name = nullptr;
  RRType type{};
  if (state.has_question) {
    if (outcome.kind == ResponseKind::kNxdomain || outcome.kind == ResponseKind::kError) {
      // By zone, as Knot and BIND do: an attack on one zone leaves the others alone.
      if (const Zone* zone = zones.find(state.query.question.name)) name = &zone->apex();
    } else {
      name = &state.query.question.name;
      type = state.query.question.type;
    }
  }
  outcome.verdict = limiter.check(client, outcome.kind, name, type, now);
  if (outcome.verdict != RrlVerdict::kSlip) return outcome;

  // The truncated answer: header and question (if the answer had one), TC, rcode, OPT.
  const bool had_question = size >= Header::kSize && ((out[4] << 8) | out[5]) > 0;
  const bool aa = size >= Header::kSize && (out[2] & 0x04);
  MessageWriter w(out, std::max<std::size_t>(size, 512));
  auto& h = w.header();
  h.id = state.id;
  h.qr = true;
  h.opcode = state.opcode;
  h.aa = aa;
  h.rd = state.rd;
  h.cd = state.cd;
  if (had_question && state.has_question) {
    const Question& q = state.query.question;
    w.add_question(q.name, q.type, q.rclass);
  }
  if (state.edns) w.set_edns(max_udp_payload, 0, state.query.dnssec_ok);
  w.set_rcode(static_cast<std::uint16_t>(state.rcode));
  w.set_truncated();
  size = w.finish();
  return outcome;
}

}  // namespace basalt::dns
