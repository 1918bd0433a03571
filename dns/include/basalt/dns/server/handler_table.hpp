// User code that answers questions: handlers registered with a name pattern
// and the record types they answer.
//
// Patterns are globs (core::Glob, minimatch syntax) matched
// case-insensitively against the query name without its trailing dot, so
// `*.example.com` finds `WwW.Example.COM`. Every matching handler whose types
// include the query type contributes records, in registration order. A
// handler is either synchronous (runs inline on the worker) or a coroutine
// (awaited without holding up other queries).
//
// A HandlerTable is an immutable value; the server publishes new tables
// through core::Snapshot when handlers are added or removed, so workers read
// them without locks. Handler functions are called from worker threads,
// possibly concurrently: they must be thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/glob.hpp"
#include "basalt/dns/server/query.hpp"
#include "basalt/dns/wire/record.hpp"

namespace basalt::dns {

using HandlerFn = std::function<std::vector<Record>(const Query&)>;
using AsyncHandlerFn = std::function<boost::asio::awaitable<std::vector<Record>>(const Query&)>;

using HandlerId = std::uint64_t;

struct HandlerEntry {
  HandlerId id = 0;
  core::Glob glob;
  std::vector<RRType> types;  // empty: every type
  HandlerFn sync;             // exactly one of sync / async is set
  AsyncHandlerFn async;

  bool answers(RRType t) const noexcept {
    if (types.empty() || t == RRType::kANY) return true;
    for (auto x : types) {
      if (x == t) return true;
    }
    return false;
  }
};

// The text handlers match against: labels joined by '.', no trailing dot,
// raw octets (no escapes). Writes into `buffer` (at least 256 bytes).
std::string_view match_subject(const Name& name, std::span<char> buffer) noexcept;

// The literal suffix of a pattern, after its last wildcard: every name the
// pattern matches lies at or below it ("*.dyn.example.com" -> "dyn.example.com";
// "" when nothing is literal).
std::string pattern_suffix(std::string_view pattern);

class HandlerTable {
 public:
  const std::vector<std::shared_ptr<const HandlerEntry>>& entries() const noexcept { return entries_; }

  // Whether any pattern matches `subject`, and which of those answer `type`
  // (appended to `out` in registration order).
  bool match(std::string_view subject, RRType type, std::vector<const HandlerEntry*>& out) const;

  // True if a pattern's literal suffix is `name` or below it: then names
  // under `name` may exist, so `name` exists (as an empty non-terminal at
  // least) and is never NXDOMAIN (RFC 8020).
  bool has_names_at_or_below(const Name& name) const noexcept;
  // Each pattern's literal suffix (pattern_suffix() as a name; nullopt when
  // it has none), parallel to entries(): every name a pattern can match is
  // at or below it.
  const std::vector<std::optional<Name>>& suffixes() const noexcept { return suffixes_; }
  void add(std::shared_ptr<const HandlerEntry> e);
  bool remove(HandlerId id);

 private:
  std::vector<std::shared_ptr<const HandlerEntry>> entries_;
  std::vector<std::optional<Name>> suffixes_;  // parallel to entries_
};

}  // namespace basalt::dns
