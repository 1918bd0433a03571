#include "basalt/dns/dnssec/algorithm.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace basalt::dns {
namespace {

struct AlgorithmName {
  std::string_view name;
  Algorithm algorithm;
};

constexpr std::array<AlgorithmName, 6> kNames{{
    {"ecdsa-p256", Algorithm::kEcdsaP256Sha256},
    {"ecdsap256sha256", Algorithm::kEcdsaP256Sha256},
    {"ecdsa", Algorithm::kEcdsaP256Sha256},
    {"ed25519", Algorithm::kEd25519},
    {"rsa-sha256", Algorithm::kRsaSha256},
    {"rsasha256", Algorithm::kRsaSha256},
}};

}  // namespace

std::optional<Algorithm> parse_algorithm(std::string_view text) noexcept {
  if (text.size() > 32) return std::nullopt;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!lower.empty() &&
      std::all_of(lower.begin(), lower.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int n = lower.size() > 3 ? 0 : std::stoi(lower);  // "13", "013"
    if (is_supported_algorithm(static_cast<std::uint8_t>(n))) return static_cast<Algorithm>(n);
    return std::nullopt;
  }
  for (const auto& n : kNames) {
    if (n.name == lower) return n.algorithm;
  }
  return std::nullopt;
}

std::string_view to_string(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::kRsaSha256:
      return "rsa-sha256";
    case Algorithm::kEcdsaP256Sha256:
      return "ecdsa-p256";
    case Algorithm::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

std::string_view mnemonic(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::kRsaSha256:
      return "RSASHA256";
    case Algorithm::kEcdsaP256Sha256:
      return "ECDSAP256SHA256";
    case Algorithm::kEd25519:
      return "ED25519";
  }
  return "unknown";
}

bool is_supported_algorithm(std::uint8_t number) noexcept {
  return number == 8 || number == 13 || number == 15;
}

}  // namespace basalt::dns
