#include "daemon/remote_challenges.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <stdexcept>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/core/config.hpp"
#include "basalt/core/duration.hpp"
#include "basalt/core/management/registry.hpp"
#include "daemon/dns01_solver.hpp"

namespace basalt::dns {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A dns-01 value is base64url of a SHA-256 digest (43 characters); anything
// a TXT string can hold in that alphabet is accepted.
constexpr std::size_t kMaxValue = 255;

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// The command's {domain, value}: both required, nothing else.
std::pair<std::string, std::string> parse_params(const json::object& params, std::string_view method) {
  for (const auto& kv : params) {
    if (kv.key() != "domain" && kv.key() != "value") {
      throw core::config::Error(std::string(kv.key()),
                                fmt::format("is not a parameter of {} (domain, value)", method));
    }
  }
  const auto* domain = params.if_contains("domain");
  if (!domain) {
    throw core::config::Error(
        "domain", "missing (the name being validated, e.g. \"www.example.com\" or \"*.example.com\")");
  }
  const auto* value = params.if_contains("value");
  if (!value) throw core::config::Error("value", "missing (the dns-01 TXT value, base64url)");
  return {core::config::decode<std::string>(*domain, "domain"),
          core::config::decode<std::string>(*value, "value")};
}

json::object added_result(const RemoteChallenges::Added& added) {
  return json::object{{"name", added.name}, {"ttl", added.ttl}};
}

json::object removed_result(bool removed) {
  return json::object{{"removed", removed}};
}

std::string lifetime_text(std::chrono::steady_clock::duration d) {
  return core::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

RemoteChallenges::RemoteChallenges(Dns01Solver& solver, asio::io_context& control, Limits limits)
    : solver_(solver), control_(control), limits_(limits), timer_(control) {}

// The records stay with the server (which is going away too): withdrawing
// them here would touch a server that may be half torn down.
RemoteChallenges::~RemoteChallenges() = default;

std::pair<std::string, std::string> RemoteChallenges::checked(std::string_view domain,
                                                              std::string_view value) {
  std::string name;
  try {
    name = acme::normalize_domains({std::string(domain)}).front();
  } catch (const std::invalid_argument& e) {
    throw core::config::Error("domain", e.what());
  }
  if (value.empty() || value.size() > kMaxValue || !std::all_of(value.begin(), value.end(), base64url_char)) {
    throw core::config::Error(
        "value", fmt::format("{} is not a dns-01 TXT value (1-{} characters of A-Z, a-z, 0-9, '-' and '_': "
                             "base64url of the key authorization's SHA-256 digest)",
                             core::config::render(json::string(value)), kMaxValue));
  }
  return {std::move(name), std::string(value)};
}

RemoteChallenges::Added RemoteChallenges::add(std::string_view domain, std::string_view value) {
  auto [name, text] = checked(domain, value);
  if (auto why = solver_.obstacle(name); !why.empty()) throw core::config::Error("domain", why);
  Key key{Dns01Solver::record_name(name), text};
  {
    std::lock_guard lock(mutex_);
    const auto expires = std::chrono::steady_clock::now() + limits_.lifetime;
    if (auto it = records_.find(key); it != records_.end()) {
      it->second.expires = expires;
    } else {
      if (records_.size() >= limits_.max_records) {
        throw std::runtime_error(fmt::format(
            "{} challenge records added over the management socket are served already, the limit: remove "
            "some (removeAcmeChallenge) or wait for them to expire ({} after they were added)",
            limits_.max_records, lifetime_text(limits_.lifetime)));
      }
      solver_.present_value(name, text);  // throws before anything is recorded
      records_.emplace(key, Entry{name, expires});
    }
  }
  asio::post(control_, [this] { schedule(); });
  return Added{key.first, Dns01Solver::kTtl};
}

bool RemoteChallenges::remove(std::string_view domain, std::string_view value) {
  auto [name, text] = checked(domain, value);
  std::lock_guard lock(mutex_);
  auto it = records_.find(Key{Dns01Solver::record_name(name), text});
  if (it == records_.end()) return false;
  solver_.remove_value(it->second.domain, text);
  records_.erase(it);
  // The timer may fire for this record's time; expire() then finds nothing due.
  return true;
}

std::size_t RemoteChallenges::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

void RemoteChallenges::schedule() {
  std::chrono::steady_clock::time_point next = std::chrono::steady_clock::time_point::max();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, entry] : records_) next = std::min(next, entry.expires);
  }
  if (next == std::chrono::steady_clock::time_point::max()) {
    timer_.cancel();
    return;
  }
  // Replaces (cancels) the previous wait. A wait that completed just before
  // still runs expire(), which only takes what is due: one chain of waits remains.
  timer_.expires_at(next);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    expire();
  });
}

void RemoteChallenges::expire() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    for (auto it = records_.begin(); it != records_.end();) {
      if (it->second.expires > now) {
        ++it;
        continue;
      }
      const auto& [name, value] = it->first;
      spdlog::warn(
          "ACME: {} TXT \"{}\" was added over the management socket and not removed within {}: removing it",
          name, value, lifetime_text(limits_.lifetime));
      solver_.remove_value(it->second.domain, value);
      it = records_.erase(it);
    }
  }
  schedule();
}

void RemoteChallenges::register_commands(core::management::Registry& registry) {
  registry.add_sync("addAcmeChallenge", [this](const json::object& params) {
    auto [domain, value] = parse_params(params, "addAcmeChallenge");
    return added_result(add(domain, value));
  });
  registry.add_sync("removeAcmeChallenge", [this](const json::object& params) {
    auto [domain, value] = parse_params(params, "removeAcmeChallenge");
    return removed_result(remove(domain, value));
  });
}

}  // namespace basalt::dns
