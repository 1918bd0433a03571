#include "basalt/acme/certificate_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>

#include "basalt/acme/csr.hpp"
#include "basalt/core/file.hpp"
#include "basalt/core/tls.hpp"

namespace basalt::acme {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCertificateFile = "fullchain.pem";
constexpr std::string_view kKeyFile = "privkey.pem";
constexpr std::string_view kCurrent = "current";
constexpr std::string_view kLockFile = ".lock";

void set_error(std::string* error, std::string why) {
  if (error) *error = std::move(why);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::string quoted(const fs::path& p) {
  std::string out = "\"";
  out.append(p.string()).append("\"");
  return out;
}

std::string errno_message(std::string_view verb, const fs::path& p, int err) {
  std::string out(verb);
  out.append(" ").append(quoted(p)).append(": ").append(std::strerror(err));
  return out;
}

std::vector<std::string> normalized_set(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(lower(n));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  // The clock counts nanoseconds in 64 bits: a notAfter in 9999 (as some
  // certificates have) does not fit, and converting it would overflow.
  constexpr auto kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max()).count();
  const std::time_t seconds = timegm(&tm);
  if (seconds > kLimit || seconds < -kLimit) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

// A directory name is usable when it stays one entry inside the store.
bool usable_entry(std::string_view name) {
  return !name.empty() && name != "." && name != "..";
}

// Version directories are decimal numbers; anything else in an entry is not ours to remove.
std::optional<unsigned long long> version_number(const std::string& name) {
  if (name.empty() || name.size() > 18 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(name);
}

void make_private_directory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    ::chmod(dir.c_str(), 0700);  // the umask can only have removed bits
    return;
  }
  const int err = errno;
  std::error_code ec;
  if (err == EEXIST && fs::is_directory(dir, ec)) return;
  throw std::runtime_error(errno_message("cannot create directory", dir, err));
}

void make_private_directories(const fs::path& dir) {
  std::error_code ec;
  if (dir.empty() || fs::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) make_private_directories(dir.parent_path());
  make_private_directory(dir);
}

void fsync_directory(const fs::path& dir) {
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Serializes save()s of one entry, across threads and processes (flock
// locks belong to the open file description).
class EntryLock {
 public:
  explicit EntryLock(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error(errno_message("cannot open", path, errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd_);
      throw std::runtime_error(errno_message("cannot lock", path, err));
    }
  }
  ~EntryLock() { ::close(fd_); }
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;

 private:
  int fd_ = -1;
};

// The version directory `current` points to, if it is a symlink to a plain name.
std::optional<std::string> current_version(const fs::path& entry) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(entry / kCurrent, ec);
  if (ec) return std::nullopt;
  const std::string name = target.string();
  if (!usable_entry(name) || name.find('/') != std::string::npos) return std::nullopt;
  return name;
}

}  // namespace

bool StoredCertificate::covers_exactly(const std::vector<std::string>& wanted) const {
  return normalized_set(domains) == normalized_set(wanted);
}

std::optional<StoredCertificate> parse_certificate(std::string certificate_pem, std::string private_key_pem,
                                                   std::string* error) {
  try {
    // TlsCertifiedKey::load takes text without "-----BEGIN" for a file
    // name; here it is always PEM text.
    if (certificate_pem.find("-----BEGIN") == std::string::npos) {
      set_error(error, "certificate PEM is malformed (no CERTIFICATE block)");
      return std::nullopt;
    }
    if (private_key_pem.find("-----BEGIN") == std::string::npos) {
      set_error(error, "private key PEM is malformed (no PRIVATE KEY block)");
      return std::nullopt;
    }
    std::string why;
    auto loaded = core::TlsCertifiedKey::load({certificate_pem, private_key_pem}, &why);
    if (!loaded) {
      set_error(error, why);
      return std::nullopt;
    }
    X509* leaf = loaded->leaf();
    auto not_before = to_time_point(X509_get0_notBefore(leaf));
    auto not_after = to_time_point(X509_get0_notAfter(leaf));
    if (!not_before || !not_after) {
      set_error(error, "certificate PEM is malformed (unreadable validity period)");
      return std::nullopt;
    }
    StoredCertificate out;
    out.certificate_pem = std::move(certificate_pem);
    out.private_key_pem = std::move(private_key_pem);
    out.domains = loaded->dns_names();
    out.not_before = *not_before;
    out.not_after = *not_after;
    out.key_type = key_type_of(loaded->key());
    return out;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    return std::nullopt;
  }
}

std::string CertificateStore::entry_name(std::string_view domain) {
  std::string out = lower(domain);
  if (out.starts_with("*.")) out[0] = '_';
  // Never a path separator, whatever the caller passes.
  for (auto& c : out)
    if (c == '/' || c == '\0') c = '_';
  return out;
}

std::optional<StoredCertificate> CertificateStore::load(const std::vector<std::string>& domains,
                                                        std::string* error) const {
  if (error) error->clear();
  try {
    if (domains.empty()) {
      set_error(error, "no domains given");
      return std::nullopt;
    }
    // The entry is named after the first domain; the others are tried too,
    // so a certificate saved with its domains in another order is still found.
    std::vector<std::string> tried;
    std::string first_error;
    for (const auto& domain : domains) {
      const std::string name = entry_name(domain);
      if (!usable_entry(name) || std::find(tried.begin(), tried.end(), name) != tried.end()) continue;
      tried.push_back(name);
      const fs::path entry = dir_ / name;
      std::error_code ec;
      if (fs::symlink_status(entry / kCurrent, ec).type() == fs::file_type::not_found) continue;
      auto record = [&](std::string why) {
        if (first_error.empty()) first_error = std::move(why);
      };
      // Both files come from the one version directory `current` named when
      // we looked, so a concurrent save cannot give us a mismatched pair.
      // Saves in quick succession can remove that directory while we read
      // it: then `current` has moved on, and we follow it.
      std::optional<std::string> version;
      std::optional<StoredCertificate> parsed;
      std::string why;
      for (int attempt = 0; attempt < 5 && !parsed; ++attempt) {
        auto now_current = current_version(entry);
        if (attempt > 0 && now_current == version) break;
        version = std::move(now_current);
        if (!version) {
          why = quoted(entry / kCurrent) + " is not a link to a version directory";
          break;
        }
        const fs::path version_dir = entry / *version;
        auto cert = core::read_file(version_dir / kCertificateFile, &why);
        auto key = cert ? core::read_file(version_dir / kKeyFile, &why) : std::nullopt;
        if (!cert || !key) continue;
        parsed = parse_certificate(std::move(*cert), std::move(*key), &why);
        if (!parsed) why = quoted(version_dir) + ": " + why;
      }
      if (!parsed) {
        record(std::move(why));
        continue;
      }
      const fs::path version_dir = entry / *version;
      if (!parsed->covers_exactly(domains)) {
        record(fmt::format("{}: the stored certificate is for {}, not exactly {}", quoted(version_dir),
                           fmt::join(parsed->domains, ", "), fmt::join(domains, ", ")));
        continue;
      }
      parsed->certificate_path = version_dir / kCertificateFile;
      parsed->key_path = version_dir / kKeyFile;
      return parsed;
    }
    set_error(error, std::move(first_error));
    return std::nullopt;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    return std::nullopt;
  }
}

StoredCertificate CertificateStore::save(const StoredCertificate& certificate) const {
  std::string why;
  auto parsed = parse_certificate(certificate.certificate_pem, certificate.private_key_pem, &why);
  if (!parsed) throw std::runtime_error("cannot store the certificate: " + why);
  // The caller's order names the entry (its first domain is what load() is
  // asked for); the leaf's order otherwise.
  const std::vector<std::string>& order = certificate.domains.empty() ? parsed->domains : certificate.domains;
  if (order.empty()) throw std::runtime_error("cannot store a certificate without DNS names");
  if (!parsed->covers_exactly(order)) {
    throw std::runtime_error(fmt::format("cannot store the certificate: it is for {}, not exactly {}",
                                         fmt::join(parsed->domains, ", "), fmt::join(order, ", ")));
  }
  const std::string name = entry_name(order.front());
  if (!usable_entry(name))
    throw std::runtime_error("cannot store a certificate for \"" + order.front() + "\"");

  make_private_directories(dir_);
  const fs::path entry = dir_ / name;
  make_private_directory(entry);
  EntryLock lock(entry / kLockFile);

  // The next version number; left-over directories of interrupted saves count too.
  unsigned long long next = 1;
  for (const auto& e : fs::directory_iterator(entry)) {
    if (auto n = version_number(e.path().filename().string())) next = std::max(next, *n + 1);
  }
  const std::string version = std::to_string(next);
  const fs::path version_dir = entry / version;
  make_private_directory(version_dir);
  const auto mode = fs::perms::owner_read | fs::perms::owner_write;
  if (!core::write_file_atomic(version_dir / kKeyFile, certificate.private_key_pem, mode, &why) ||
      !core::write_file_atomic(version_dir / kCertificateFile, certificate.certificate_pem, mode, &why)) {
    std::error_code ec;
    fs::remove_all(version_dir, ec);
    throw std::runtime_error(why);
  }

  // Switch `current` in one step: a new symlink renamed over the old one.
  const auto previous = current_version(entry);
  std::random_device random;
  const fs::path staged = entry / (".current." + std::to_string(::getpid()) + "." + std::to_string(random()));
  if (::symlink(version.c_str(), staged.c_str()) != 0)
    throw std::runtime_error(errno_message("cannot create symlink", staged, errno));
  if (::rename(staged.c_str(), (entry / kCurrent).c_str()) != 0) {
    const int err = errno;
    ::unlink(staged.c_str());
    throw std::runtime_error(errno_message("cannot replace", entry / kCurrent, err));
  }
  fsync_directory(entry);

  // Keep the new and the previous version (a reader may still be opening
  // it); remove older ones. Failing to clean up does not fail the save.
  for (const auto& e : fs::directory_iterator(entry)) {
    const std::string n = e.path().filename().string();
    if (!version_number(n) || n == version || (previous && n == *previous)) continue;
    std::error_code ec;
    fs::remove_all(e.path(), ec);
  }

  parsed->certificate_path = version_dir / kCertificateFile;
  parsed->key_path = version_dir / kKeyFile;
  return *parsed;
}

}  // namespace basalt::acme
