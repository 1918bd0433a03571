#include "basalt/acme/client.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

#include "basalt/acme/jws.hpp"
#include "basalt/acme/resources.hpp"
#include "basalt/acme/retry_after.hpp"
#include "basalt/core/encoding.hpp"
#include "basalt/http/client.hpp"

namespace basalt::acme {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A response's body for an error message: short, one line.
std::string excerpt(std::string_view body) {
  std::string out(body.substr(0, 200));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (body.size() > 200) out += "...";
  return out;
}

http::ClientOptions http_options(const ClientOptions& o) {
  http::ClientOptions h;
  h.tls.ca = o.directory_ca;
  h.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.request_timeout);
  h.connect_timeout = std::min(h.request_timeout, std::chrono::milliseconds(10'000));
  h.resolve = o.resolve;
  return h;
}

std::string json_text(const boost::json::value& v) {
  return boost::json::serialize(v);
}

// new-order (RFC 8555 §7.4): every name as a "dns" identifier, "*.x" included.
std::string new_order_payload(const std::vector<std::string>& domains) {
  boost::json::array identifiers;
  for (const auto& d : domains) identifiers.push_back(boost::json::object{{"type", "dns"}, {"value", d}});
  return json_text(boost::json::object{{"identifiers", std::move(identifiers)}});
}

std::string finalize_payload(const std::vector<std::uint8_t>& csr) {
  return json_text(boost::json::object{{"csr", core::base64url_encode(csr)}});
}

// " (the problem)" for an order's error, else "".
std::string problem_suffix(const std::optional<Problem>& p) {
  return p ? " (" + p->to_string() + ")" : std::string();
}

// An authorization whose challenge we answered, waiting to become valid.
struct PendingChallenge {
  std::string authorization_url, name, challenge_url, type;
};

}  // namespace

struct Client::Impl {
  Impl(asio::io_context& io_context, ClientOptions o)
      : io(io_context), options(std::move(o)), http(io_context, http_options(options)) {
    auto url = boost::urls::parse_absolute_uri(options.directory);
    if (!url || url->scheme() != "https") {
      throw std::invalid_argument(
          fmt::format("ACME directory \"{}\" is not an https:// URL (RFC 8555 §6.1)", options.directory));
    }
    if (options.account_key.empty())
      throw std::invalid_argument("no account key path (ClientOptions::account_key)");
  }

  struct Reply {
    int status = 0;
    http::Headers headers;
    std::string body;
    std::string location;
  };

  // One HTTP exchange; transport failures become acme::Error for `step`.
  asio::awaitable<Reply> exchange(const std::string& step, std::string method, std::string url,
                                  std::string body, std::string_view accept) {
    // Every URL comes from the CA; signed requests never go out in clear text.
    if (!url.starts_with("https://")) {
      throw Error(step, fmt::format("the CA gave \"{}\", which is not an https:// URL", url));
    }
    http::ClientRequest request;
    request.method = std::move(method);
    request.url = std::move(url);
    if (!body.empty()) request.headers.add("content-type", "application/jose+json");
    if (!accept.empty()) request.headers.add("accept", accept);
    request.headers.add("user-agent", "basalt-acme/0.1");
    request.body = std::move(body);
    ++stats.requests;
    auto r = co_await http.request(request);
    if (!r) {
      throw Error(step, fmt::format("{} {}: {}{}{}", request.method, request.url, r.error.message(),
                                    r.detail.empty() ? "" : ": ", r.detail));
    }
    Reply reply;
    reply.status = r.response.status;
    if (auto n = r.response.headers.get("replay-nonce"); n && !n->empty()) nonces.emplace_back(*n);
    if (auto l = r.response.headers.get("location")) reply.location = std::string(*l);
    reply.headers = std::move(r.response.headers);
    reply.body = std::move(r.response.body);
    co_return reply;
  }

  asio::awaitable<void> ensure_directory() {
    if (directory) co_return;
    auto reply = co_await exchange("directory", "GET", options.directory, std::string(), std::string_view());
    if (reply.status != 200) {
      throw Error("directory", fmt::format("GET {} answered HTTP {}: {}", options.directory, reply.status,
                                           excerpt(reply.body)));
    }
    std::string error;
    auto d = parse_directory(reply.body, &error);
    if (!d) throw Error("directory", fmt::format("{} ({})", error, options.directory));
    directory = std::move(*d);
  }

  asio::awaitable<std::string> take_nonce(const std::string& step) {
    if (nonces.empty()) {
      auto reply = co_await exchange(step, "HEAD", directory->new_nonce, std::string(), std::string_view());
      if (nonces.empty()) {
        throw Error(
            step, fmt::format("HEAD {} (HTTP {}) gave no Replay-Nonce", directory->new_nonce, reply.status));
      }
    }
    std::string n = std::move(nonces.back());
    nonces.pop_back();
    co_return n;
  }

  asio::awaitable<void> wait(std::chrono::seconds d) {
    asio::steady_timer timer(io, d);
    co_await timer.async_wait(asio::use_awaitable);
  }

  // A signed POST (payload "" = POST-as-GET). badNonce is retried with a
  // fresh nonce, 429/503 after a short enough Retry-After; any other error
  // status throws the CA's problem.
  asio::awaitable<Reply> post(const std::string& step, const std::string& url, std::string_view payload,
                              bool with_jwk = false, std::string_view accept = {}) {
    unsigned bad_nonces = 0, waits = 0;
    for (;;) {
      // (g++ 12: no co_await inside a braced initializer.)
      std::string nonce = co_await take_nonce(step);
      JwsHeader header;
      header.nonce = std::move(nonce);
      header.url = url;
      if (!with_jwk) header.kid = kid;
      auto body = jws_sign(*key, header, payload);
      auto reply = co_await exchange(step, "POST", url, std::move(body), accept);
      if (reply.status < 400) co_return reply;
      auto problem = parse_problem(reply.body, reply.status);
      if (problem && problem->is("badNonce") && bad_nonces < options.max_bad_nonce_retries) {
        ++bad_nonces;
        ++stats.bad_nonce_retries;
        spdlog::info("ACME {}: the CA refused the nonce (badNonce); retrying with the fresh one it sent",
                     step);
        continue;
      }
      std::optional<std::chrono::seconds> retry;
      if (auto v = reply.headers.get("retry-after"))
        retry = parse_retry_after(*v, std::chrono::system_clock::now());
      if ((reply.status == 429 || reply.status == 503) && retry && *retry <= options.max_retry_after &&
          waits < 3) {
        ++waits;
        ++stats.rate_limit_waits;
        spdlog::info("ACME {}: the CA answered HTTP {}; retrying after {} s as asked", step, reply.status,
                     retry->count());
        co_await wait(std::max(*retry, std::chrono::seconds(1)));
        continue;
      }
      std::string message =
          problem ? "refused by the CA (" + problem->to_string() + ")"
                  : fmt::format("POST {} answered HTTP {}: {}", url, reply.status, excerpt(reply.body));
      Error error(step, std::move(message), std::move(problem));
      if (reply.status == 429 || reply.status == 503) error.retry_after = retry;
      throw error;
    }
  }

  asio::awaitable<void> ensure_account(const ProgressFn& progress) {
    if (!key) key = AccountKey::load_or_create(options.account_key, options.account_key_type);
    co_await ensure_directory();
    if (!kid.empty()) co_return;
    if (directory->external_account_required) {
      throw Error("account",
                  "the CA requires an external account binding (meta.externalAccountRequired), which is "
                  "not supported");
    }
    boost::json::object payload{{"termsOfServiceAgreed", true}};
    if (!options.contact.empty()) {
      boost::json::array contact;
      for (const auto& c : options.contact) contact.emplace_back(c);
      payload["contact"] = std::move(contact);
    }
    auto reply = co_await post("account", directory->new_account, json_text(payload), true);
    if (reply.location.empty()) throw Error("account", "new-account answer has no Location (account URL)");
    std::string error;
    auto account = parse_account(reply.body, &error);
    if (!account) throw Error("account", error);
    if (account->status != "valid") {
      throw Error("account", fmt::format("the account {} is {}", reply.location, account->status));
    }
    kid = reply.location;
    report(progress, "account",
           fmt::format("{} account {}", std::string_view(reply.status == 201 ? "created" : "using"), kid));
  }

  static void report(const ProgressFn& progress, std::string step, std::string message) {
    spdlog::debug("ACME {}: {}", step, message);
    if (progress) progress({std::move(step), std::move(message)});
  }

  // Polls `url` (POST-as-GET) until `done(status)` or the deadline; returns the last body.
  template <class Parse, class Done>
  asio::awaitable<std::string> poll(const std::string& step, const std::string& url,
                                    std::chrono::steady_clock::time_point deadline, Parse parse, Done done) {
    auto delay = 1s;
    for (;;) {
      auto reply = co_await post(step, url, "");
      std::string error;
      auto object = parse(reply.body, &error);
      if (!object) throw Error(step, error);
      if (done(object->status)) co_return reply.body;
      auto wait_for = delay;
      if (auto v = reply.headers.get("retry-after")) {
        if (auto r = parse_retry_after(*v, std::chrono::system_clock::now())) wait_for = std::max(*r, 1s);
      }
      if (std::chrono::steady_clock::now() + wait_for > deadline) {
        throw Error(step, fmt::format("still \"{}\" at the deadline ({})", object->status, url));
      }
      co_await wait(wait_for);
      delay = std::min(delay * 2, std::chrono::seconds(10));
    }
  }

  asio::awaitable<StoredCertificate> obtain(std::vector<std::string> domains, ChallengeSolver& solver,
                                            ProgressFn progress) {
    if (domains.empty()) throw Error("order", "no domain names given");
    co_await ensure_account(progress);
    ++stats.orders;

    auto reply = co_await post("order", directory->new_order, new_order_payload(domains));
    std::string error;
    auto order = parse_order(reply.body, &error);
    if (!order) throw Error("order", error);
    if (reply.location.empty()) throw Error("order", "new-order answer has no Location (order URL)");
    const std::string order_url = reply.location;
    report(progress, "order", fmt::format("order {} for {}", order_url, fmt::join(domains, ", ")));

    // Present every pending challenge first, then ask for validation, then
    // wait: a CA checks the records of one order close together.
    std::vector<ChallengeTask> presented;
    std::vector<PendingChallenge> pending;
    std::exception_ptr failure;
    try {
      for (const auto& authz_url : order->authorizations) {
        auto r = co_await post("authorization", authz_url, "");
        auto authz = parse_authorization(r.body, &error);
        if (!authz) throw Error("authorization", error);
        std::string name = authz->identifier.value;
        if (authz->wildcard) name.insert(0, "*.");
        if (authz->status == "valid") {
          report(progress, "authorization", fmt::format("{} is already authorized", name));
          continue;
        }
        if (authz->status != "pending") {
          throw Error("authorization of " + name, fmt::format("the authorization is {}", authz->status));
        }
        std::vector<std::string> types;
        for (const auto& c : authz->challenges) types.push_back(c.type);
        const std::string chosen = solver.choose(types, authz->wildcard);
        auto it = std::find_if(authz->challenges.begin(), authz->challenges.end(),
                               [&](const Challenge& c) { return !chosen.empty() && c.type == chosen; });
        if (it == authz->challenges.end()) {
          std::string offered = fmt::format("{}", fmt::join(types, ", "));
          throw Error("authorization of " + name,
                      fmt::format("the CA offers no challenge this solver answers ({}; offered: {})",
                                  solver.type(), offered));
        }
        if (it->token.empty()) throw Error("authorization of " + name, "the challenge has no token");
        ChallengeTask task{chosen, authz->identifier.value, authz->wildcard, it->token,
                           key_authorization(*key, it->token)};
        co_await solver.present(task);
        presented.push_back(task);
        report(progress, "challenge", fmt::format("{} for {} presented", task.type, name));
        pending.push_back({authz_url, name, it->url, task.type});
      }
      auto deadline = std::chrono::steady_clock::now() + options.validation_timeout;
      for (const auto& p : pending) co_await post("challenge for " + p.name, p.challenge_url, "{}");
      for (const auto& p : pending) {
        const std::string& name = p.name;
        auto body = co_await poll("validation of " + name, p.authorization_url, deadline, parse_authorization,
                                  [](const std::string& s) { return s != "pending"; });
        auto authz = parse_authorization(body, &error);
        if (authz->status != "valid") {
          std::string why = "the authorization is " + authz->status;
          std::optional<Problem> problem;
          for (const auto& c : authz->challenges) {
            if (c.type == p.type && c.error) {
              problem = c.error;
              why = "the CA could not validate the " + c.type + " challenge (" + c.error->to_string() + ")";
            }
          }
          throw Error("validation of " + name, why, std::move(problem));
        }
        report(progress, "validation", fmt::format("{} validated", name));
      }
    } catch (...) {
      failure = std::current_exception();
    }
    for (const auto& task : presented) {
      try {
        co_await solver.cleanup(task);
      } catch (const std::exception& e) {
        spdlog::warn("ACME: cleaning up the {} challenge of {} failed: {}", task.type, task.domain, e.what());
      }
    }
    if (failure) std::rethrow_exception(failure);

    auto deadline = std::chrono::steady_clock::now() + options.issuance_timeout;
    auto body = co_await poll("order", order_url, deadline, parse_order,
                              [](const std::string& s) { return s != "pending"; });
    order = parse_order(body, &error);
    if (order->status != "ready" && order->status != "valid") {
      throw Error(
          "order",
          fmt::format("the order is {} after validation{}", order->status, problem_suffix(order->error)),
          order->error);
    }
    std::string private_key = generate_private_key(options.key_type);
    if (order->status == "ready") {
      auto csr = make_csr(private_key, domains);
      co_await post("finalize", order->finalize, finalize_payload(csr));
      report(progress, "finalize", fmt::format("CSR sent ({} key)", to_string(options.key_type)));
      body = co_await poll("finalize", order_url, deadline, parse_order,
                           [](const std::string& s) { return s != "processing" && s != "ready"; });
      order = parse_order(body, &error);
    }
    if (order->status != "valid" || order->certificate.empty()) {
      throw Error("finalize", fmt::format("the order is {}{}", order->status, problem_suffix(order->error)),
                  order->error);
    }
    auto cert =
        co_await post("certificate", order->certificate, "", false, "application/pem-certificate-chain");
    auto stored = parse_certificate(cert.body, private_key, &error);
    if (!stored) throw Error("certificate", fmt::format("the downloaded chain is unusable: {}", error));
    if (!stored->covers_exactly(domains)) {
      throw Error("certificate", fmt::format("the certificate names {} but {} was ordered",
                                             fmt::join(stored->domains, ", "), fmt::join(domains, ", ")));
    }
    report(progress, "certificate",
           fmt::format("issued for {}, valid until {:%Y-%m-%d %H:%M:%S} UTC", fmt::join(domains, ", "),
                       fmt::gmtime(std::chrono::system_clock::to_time_t(stored->not_after))));
    co_return std::move(*stored);
  }

  asio::io_context& io;
  ClientOptions options;
  http::Client http;
  std::optional<AccountKey> key;
  std::optional<Directory> directory;
  std::string kid;
  std::vector<std::string> nonces;
  ClientStats stats;
  unsigned active_orders = 0;
};

Client::Client(asio::io_context& io, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Client::~Client() = default;

asio::awaitable<StoredCertificate> Client::obtain(std::vector<std::string> domains, ChallengeSolver& solver,
                                                  ProgressFn progress) {
  auto impl = impl_;  // alive for the whole order
  ++impl->active_orders;
  std::exception_ptr failure;
  StoredCertificate result;
  try {
    result = co_await impl->obtain(std::move(domains), solver, std::move(progress));
  } catch (...) {
    failure = std::current_exception();
  }
  // Orders are hours or months apart: keep no idle connection to the CA.
  if (--impl->active_orders == 0) impl->http.close();
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

ClientStats Client::stats() const noexcept {
  return impl_->stats;
}

const ClientOptions& Client::options() const noexcept {
  return impl_->options;
}

}  // namespace basalt::acme
