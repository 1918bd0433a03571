#include "certs/challenge_board.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <stdexcept>
#include <system_error>

#include "basalt/acme/tls_alpn_certificate.hpp"
#include "basalt/core/file.hpp"

namespace basalt::proxy {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A challenge file is tiny; anything larger is not ours.
constexpr std::size_t kMaxChallengeFile = 4096;

std::string challenge_json(const std::string& domain, const std::string& key_authorization) {
  json::object o;
  o["domain"] = domain;
  o["keyAuthorization"] = key_authorization;
  return json::serialize(o);
}

// (domain, key authorization) from a challenge file, if it is one.
std::optional<std::pair<std::string, std::string>> read_challenge(const fs::path& path) {
  std::string ignored;
  auto text = core::read_regular_file(path, kMaxChallengeFile, &ignored);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* domain = v.get_object().if_contains("domain");
  const auto* key = v.get_object().if_contains("keyAuthorization");
  if (!domain || !key || !domain->is_string() || !key->is_string()) return std::nullopt;
  return std::make_pair(std::string(domain->get_string()), std::string(key->get_string()));
}

void write_challenge(const fs::path& path, const std::string& domain, const std::string& key_authorization) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::permissions(path.parent_path().parent_path(), fs::perms::owner_all, ec);
  fs::permissions(path.parent_path(), fs::perms::owner_all, ec);
  std::string error;
  if (!core::write_file_atomic(path, challenge_json(domain, key_authorization),
                               fs::perms::owner_read | fs::perms::owner_write, &error)) {
    throw std::runtime_error(error);
  }
}

}  // namespace

ChallengeBoard::ChallengeBoard(fs::path store) : dir_(store.empty() ? fs::path() : store / "challenges") {}

bool ChallengeBoard::valid_token(std::string_view token) {
  if (token.empty() || token.size() > 256) return false;
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

fs::path ChallengeBoard::file(std::string_view kind, std::string_view name) const {
  if (dir_.empty()) return {};
  std::string entry(name);
  if (entry.starts_with("*.")) entry.replace(0, 1, "_");
  return dir_ / kind / entry;
}

void ChallengeBoard::add_http01(const std::string& domain, const std::string& token,
                                const std::string& key_authorization) {
  if (!valid_token(token)) throw std::runtime_error("the CA sent a token that is not base64url: " + token);
  if (auto path = file("http-01", token); !path.empty()) write_challenge(path, domain, key_authorization);
  std::lock_guard lock(mutex_);
  http01_[token] = {domain, key_authorization};
}

void ChallengeBoard::remove_http01(const std::string& token) {
  {
    std::lock_guard lock(mutex_);
    http01_.erase(token);
  }
  std::error_code ec;
  if (auto path = file("http-01", token); !path.empty()) fs::remove(path, ec);
}

std::optional<std::string> ChallengeBoard::http01(std::string_view host, std::string_view token) const {
  if (!valid_token(token)) return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    if (auto it = http01_.find(token); it != http01_.end()) {
      if (it->second.first == host) return it->second.second;
      return std::nullopt;
    }
  }
  // Another proxy sharing the store may have presented it.
  auto path = file("http-01", token);
  if (path.empty()) return std::nullopt;
  auto found = read_challenge(path);
  if (!found || found->first != host) return std::nullopt;
  return found->second;
}

std::optional<core::TlsServerContext> ChallengeBoard::make_tls_alpn(const std::string& domain,
                                                                    const std::string& key_authorization) const {
  std::string error;
  auto pem = acme::make_tls_alpn_certificate(domain, key_authorization, &error);
  if (!pem) {
    spdlog::warn("ACME: no tls-alpn-01 certificate for {}: {}", domain, error);
    return std::nullopt;
  }
  core::TlsServerOptions options;
  options.certificates.push_back({pem->certificate, pem->private_key});
  options.alpn = {std::string(acme::kAcmeTlsAlpn)};
  options.reject_unknown_alpn = true;
  auto context = core::TlsServerContext::create(options, &error);
  if (!context) spdlog::warn("ACME: tls-alpn-01 context for {}: {}", domain, error);
  return context;
}

void ChallengeBoard::add_tls_alpn(const std::string& domain, const std::string& key_authorization) {
  auto context = make_tls_alpn(domain, key_authorization);
  if (!context) throw std::runtime_error("cannot make the tls-alpn-01 certificate for " + domain);
  if (auto path = file("tls-alpn-01", domain); !path.empty()) write_challenge(path, domain, key_authorization);
  std::lock_guard lock(mutex_);
  tls_alpn_.insert_or_assign(domain, TlsAlpn{key_authorization, std::move(*context)});
}

void ChallengeBoard::remove_tls_alpn(const std::string& domain) {
  {
    std::lock_guard lock(mutex_);
    tls_alpn_.erase(domain);
  }
  std::error_code ec;
  if (auto path = file("tls-alpn-01", domain); !path.empty()) fs::remove(path, ec);
}

std::optional<core::TlsServerContext> ChallengeBoard::tls_alpn(std::string_view domain) const {
  std::string name(domain);
  for (auto& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  if (!name.empty() && name.back() == '.') name.pop_back();
  // The store is the truth when shared: a file another proxy wrote (or
  // removed) wins over what this one remembers of it.
  auto path = file("tls-alpn-01", name);
  std::optional<std::pair<std::string, std::string>> found;
  if (!path.empty()) {
    found = read_challenge(path);
    if (!found || found->first != name) found.reset();
  }
  std::lock_guard lock(mutex_);
  auto it = tls_alpn_.find(name);
  if (!found) {
    if (it != tls_alpn_.end() && path.empty()) return it->second.context;
    if (it != tls_alpn_.end()) tls_alpn_.erase(it);  // removed from the store by its owner
    return std::nullopt;
  }
  if (it != tls_alpn_.end() && it->second.key_authorization == found->second) return it->second.context;
  auto context = make_tls_alpn(name, found->second);
  if (!context) return std::nullopt;
  tls_alpn_.insert_or_assign(name, TlsAlpn{found->second, *context});
  return context;
}

}  // namespace basalt::proxy
