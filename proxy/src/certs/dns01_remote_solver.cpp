#include "certs/dns01_remote_solver.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "basalt/core/management/client.hpp"

namespace basalt::proxy {
namespace json = boost::json;

namespace {

// For one call, connecting included: a daemon that does not answer holds the
// certificate thread this long at most.
constexpr std::chrono::milliseconds kTimeout = std::chrono::seconds(10);

// Built outside the coroutines (g++ 12 and JSON literals in coroutine bodies).
json::object challenge_params(const acme::ChallengeTask& task) {
  std::string domain = task.wildcard ? "*." + task.domain : task.domain;
  return json::object{{"domain", std::move(domain)}, {"value", task.dns_record_value()}};
}

// One request on a fresh connection; failures prefixed with where they came from.
json::value call(const std::string& socket, const std::string& method, const json::object& params) {
  try {
    const auto start = std::chrono::steady_clock::now();
    core::management::Client client(socket, kTimeout);
    const auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return client.call(method, params, {}, std::max(kTimeout - spent, std::chrono::milliseconds(1)));
  } catch (const std::exception& e) {
    throw std::runtime_error("basalt-dns at " + socket + ": " + e.what());
  }
}

void add(const std::string& socket, const acme::ChallengeTask& task) {
  auto params = challenge_params(task);
  auto result = call(socket, "addAcmeChallenge", params);
  const auto* o = result.if_object();
  const auto* name = o ? o->if_contains("name") : nullptr;
  spdlog::info("ACME: basalt-dns at {} serves the dns-01 record of {}{} ({})", socket,
               task.wildcard ? "*." : "", task.domain,
               name && name->is_string() ? std::string(name->get_string()) : std::string("?"));
}

void remove(const std::string& socket, const acme::ChallengeTask& task) noexcept {
  try {
    auto params = challenge_params(task);
    auto result = call(socket, "removeAcmeChallenge", params);
    const auto* o = result.if_object();
    const auto* removed = o ? o->if_contains("removed") : nullptr;
    if (removed && removed->is_bool() && !removed->get_bool()) {
      spdlog::warn("ACME: basalt-dns at {} no longer had the dns-01 record of {}{} (expired?)", socket,
                   task.wildcard ? "*." : "", task.domain);
    }
  } catch (const std::exception& e) {
    spdlog::warn("ACME: cannot remove the dns-01 record of {}{} (basalt-dns removes it within an hour): {}",
                 task.wildcard ? "*." : "", task.domain, e.what());
  }
}

}  // namespace

RemoteDns01Solver::RemoteDns01Solver(std::string management_socket) : socket_(std::move(management_socket)) {}

boost::asio::awaitable<void> RemoteDns01Solver::present(const acme::ChallengeTask& task) {
  add(socket_, task);
  co_return;
}

boost::asio::awaitable<void> RemoteDns01Solver::cleanup(const acme::ChallengeTask& task) {
  remove(socket_, task);
  co_return;
}

}  // namespace basalt::proxy
