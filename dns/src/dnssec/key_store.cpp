#include "basalt/dns/dnssec/key_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "basalt/core/file.hpp"

namespace basalt::dns {
namespace fs = std::filesystem;

std::vector<SigningKey> load_keys(const fs::path& dir, const Name& zone) {
  std::vector<SigningKey> keys;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return keys;
  const std::string prefix = "k" + zone.lowercased().to_string() + "+";  // compared case-insensitively
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower.starts_with(prefix) && entry.path().extension() == ".private") files.push_back(entry.path());
  }
  if (ec) throw std::runtime_error(fmt::format("cannot list \"{}\": {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  for (const auto& priv : files) {
    auto pub = fs::path(priv).replace_extension(".key");
    std::string error;
    auto priv_text = core::read_file(priv, &error);
    if (!priv_text) throw std::runtime_error(error);
    auto pub_text = core::read_file(pub, &error);
    if (!pub_text) throw std::runtime_error(error);
    try {
      keys.push_back(SigningKey::from_bind(*pub_text, *priv_text));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}: {}", priv.string(), e.what()));
    }
  }
  return keys;
}

fs::path write_key(const fs::path& dir, const Name& zone, const SigningKey& key) {
  std::error_code ec;
  // A directory we create is ours alone; an existing one keeps its mode.
  if (fs::create_directories(dir, ec))
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create \"{}\": {}", dir.string(), ec.message()));
  auto stem = dir / key.file_stem(zone);
  auto priv = fs::path(stem.string() + ".private"), pub = fs::path(stem.string() + ".key");
  std::string error;
  // The private half first: a .key without its .private is never left behind.
  if (!core::write_file_atomic(priv, key.bind_private_text(), fs::perms::owner_read | fs::perms::owner_write,
                               &error) ||
      !core::write_file_atomic(pub, key.bind_key_text(zone), fs::perms::owner_read | fs::perms::owner_write,
                               &error)) {
    throw std::runtime_error(error);
  }
  return pub;
}

std::vector<SigningKey> load_or_create_keys(const KeySetOptions& o, std::int64_t now) {
  auto keys = load_keys(o.dir, o.zone);
  if (!keys.empty()) {
    if (o.algorithm) {
      std::vector<std::string> others;
      for (const auto& k : keys) {
        if (k.algorithm() != *o.algorithm) others.push_back(k.file_stem(o.zone));
      }
      if (others.size() == keys.size()) {
        throw std::runtime_error(fmt::format(
            "the key directory \"{}\" holds keys of {} of another algorithm than {} ({}); changing the "
            "algorithm "
            "breaks the DS at the parent: remove them, or ask for their algorithm",
            o.dir.string(), o.zone.to_string(), to_string(*o.algorithm), fmt::join(others, ", ")));
      }
      // A directory in the middle of an algorithm rollover: use those of the asked algorithm.
      std::erase_if(keys, [&](const SigningKey& k) { return k.algorithm() != *o.algorithm; });
    }
    return keys;
  }
  Algorithm algorithm = o.algorithm.value_or(kDefaultAlgorithm);
  if (o.layout == KeyLayout::kKskZsk) {
    keys.push_back(SigningKey::generate(algorithm, SigningKey::kKskFlags, now));
    keys.push_back(SigningKey::generate(algorithm, SigningKey::kZskFlags, now));
  } else {
    keys.push_back(SigningKey::generate(algorithm, SigningKey::kKskFlags, now));
  }
  for (const auto& k : keys) {
    auto path = write_key(o.dir, o.zone, k);
    spdlog::info(
        "generated DNSSEC {} {} key {} for {} in {}", to_string(algorithm),
        k.is_ksk() ? (o.layout == KeyLayout::kCombined ? "combined" : "key-signing") : "zone-signing",
        k.key_tag(), o.zone.to_string(), path.string());
  }
  return keys;
}

}  // namespace basalt::dns
