#include "basalt/dns/dnssec/key_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <stdexcept>

#include "basalt/core/file.hpp"

namespace basalt::dns {
namespace fs = std::filesystem;
namespace {

constexpr auto kKeyFileMode = fs::perms::owner_read | fs::perms::owner_write;

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// `k<zone>+`: the start of the zone's key file names, compared case-insensitively.
std::string key_file_prefix(const Name& zone) {
  return "k" + zone.lowercased().to_string() + "+";
}

// An exclusive flock(2) on the key directory while keys are written or the
// directory is tidied, so that a start never tidies away the files of a
// `basalt-dns keygen` that is still writing. Best effort: where directories
// cannot be locked (some network file systems), it goes without.
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_;
};

// Creates the directory (0700) if it does not exist; an existing one keeps its mode.
void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  if (fs::create_directories(dir, ec))
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create \"{}\": {}", dir.string(), ec.message()));
}

// Writes a key's two files so that a kill at any moment leaves both of them
// or neither, as far as a later start can tell: both are written in full
// under temporary names (`.K...key.tmp.XXXXXX`), then the .private is renamed
// into place, then the .key. A kill between the two renames leaves a .private
// whose .key is still the temporary file beside it; tidy_key_directory()
// recognises that as an interrupted write of ours. The caller holds the lock.
fs::path write_key_files(const fs::path& dir, const Name& zone, const SigningKey& key) {
  ensure_directory(dir);
  auto stem = dir / key.file_stem(zone);
  auto priv = fs::path(stem.string() + ".private"), pub = fs::path(stem.string() + ".key");
  std::error_code ec;
  if (fs::exists(priv, ec) || fs::exists(pub, ec)) {
    // Another key with the same tag: never replace a key.
    throw std::runtime_error(
        fmt::format("cannot write \"{}\": a key with the same file name (key tag {}) "
                    "is already there",
                    priv.string(), key.key_tag()));
  }
  std::string error;
  auto priv_file = core::PendingFile::write(priv, key.bind_private_text(), kKeyFileMode, &error);
  if (!priv_file) throw std::runtime_error(error);
  auto pub_file = core::PendingFile::write(pub, key.bind_key_text(zone), kKeyFileMode, &error);
  if (!pub_file || !priv_file->commit(&error)) throw std::runtime_error(error);
  if (!pub_file->commit(&error)) {
    fs::remove(priv, ec);  // neither rather than a .private alone
    throw std::runtime_error(error);
  }
  return pub;
}

// Puts the key directory right after a kill during write_key_files(): the
// zone's temporary key files are removed, and so is a .private without its
// .key when the .key's temporary file is beside it — basalt was writing that
// key and was stopped before it was complete, so no one has used it. Any
// other .private without its .key is not ours to remove (a key imported from
// elsewhere, its .key forgotten): load_keys() reports it. The caller holds
// the lock.
void tidy_key_directory(const fs::path& dir, const Name& zone) {
  const std::string prefix = key_file_prefix(zone);
  std::vector<fs::path> temporaries;
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    auto lower = lowercase(name);
    if (lower.starts_with("." + prefix) && lower.find(".tmp.") != std::string::npos) {
      temporaries.push_back(entry.path());
    } else if (lower.starts_with(prefix)) {
      names.insert(name);
    }
  }
  if (ec) throw std::runtime_error(fmt::format("cannot list \"{}\": {}", dir.string(), ec.message()));
  for (const auto& name : names) {
    if (!name.ends_with(".private")) continue;
    auto pub = fs::path(name).replace_extension(".key").string();
    if (names.contains(pub)) continue;
    auto pending_pub = core::pending_file_prefix(dir / pub);
    bool ours = std::any_of(temporaries.begin(), temporaries.end(), [&](const fs::path& t) {
      return t.filename().string().starts_with(pending_pub);
    });
    if (!ours) continue;
    spdlog::warn(
        "removing \"{}\": a new DNSSEC key basalt was writing when it was stopped (its .key was never put in "
        "place, so the key was never used)",
        (dir / name).string());
    if (!fs::remove(dir / name, ec) && ec) {
      throw std::runtime_error(fmt::format("cannot remove \"{}\": {}", (dir / name).string(), ec.message()));
    }
  }
  for (const auto& t : temporaries) {
    spdlog::info("removing \"{}\", a temporary file of an interrupted key write", t.string());
    fs::remove(t, ec);
  }
}

}  // namespace

std::vector<SigningKey> load_keys(const fs::path& dir, const Name& zone) {
  std::vector<SigningKey> keys;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return keys;
  const std::string prefix = key_file_prefix(zone);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (lowercase(entry.path().filename().string()).starts_with(prefix) &&
        entry.path().extension() == ".private") {
      files.push_back(entry.path());
    }
  }
  if (ec) throw std::runtime_error(fmt::format("cannot list \"{}\": {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  for (const auto& priv : files) {
    auto pub = fs::path(priv).replace_extension(".key");
    std::string error;
    auto priv_text = core::read_file(priv, &error);
    if (!priv_text) throw std::runtime_error(error);
    if (!fs::exists(pub, ec) && !ec) {
      throw std::runtime_error(fmt::format(
          "\"{}\" has no {} beside it: basalt did not write this key (or its .key was removed); put the .key "
          "back, or move the .private out of the key directory",
          priv.string(), pub.filename().string()));
    }
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
  ensure_directory(dir);
  DirectoryLock lock(dir);
  return write_key_files(dir, zone, key);
}

std::vector<SigningKey> load_or_create_keys(const KeySetOptions& o, std::int64_t now) {
  ensure_directory(o.dir);
  DirectoryLock lock(o.dir);
  tidy_key_directory(o.dir, o.zone);
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
    auto path = write_key_files(o.dir, o.zone, k);
    spdlog::info(
        "generated DNSSEC {} {} key {} for {} in {}", to_string(algorithm),
        k.is_ksk() ? (o.layout == KeyLayout::kCombined ? "combined" : "key-signing") : "zone-signing",
        k.key_tag(), o.zone.to_string(), path.string());
  }
  return keys;
}

}  // namespace basalt::dns
