// Certificates and their keys on disk, one directory per certificate, so that
// a daemon restarted with a valid certificate serves it again without asking
// the CA (rate limits).
//
// Layout (certbot-like; every file 0600, directories 0700):
//   <dir>/<name>/<version>/fullchain.pem   leaf first, then the chain
//   <dir>/<name>/<version>/privkey.pem     PKCS#8
//   <dir>/<name>/current -> <version>      switched atomically (symlink + rename)
// <name> is the first domain, lowercase, "*." written as "_." (an underscore
// is never a host name label, so it cannot collide). The previous version is
// kept, older ones are removed. Readers see the old or the new pair, never a
// certificate with the wrong key.
//
// Thread-safety: a CertificateStore holds only its path; concurrent save()s
// for the same name are safe (last one wins). Failures of save() throw
// std::runtime_error naming the file; load() never throws.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "basalt/acme/csr.hpp"

namespace basalt::acme {

struct StoredCertificate {
  std::string certificate_pem;  // full chain
  std::string private_key_pem;
  std::vector<std::string> domains;  // DNS SANs of the leaf, lowercase, in certificate order
  std::chrono::system_clock::time_point not_before, not_after;
  std::filesystem::path certificate_path, key_path;
  // The private key's type; nullopt for a key of another kind (e.g. RSA 4096
  // or P-384 from another tool), which no request matches.
  std::optional<KeyType> key_type;

  // True if the leaf's DNS SANs are exactly `domains` (as sets, case-insensitive).
  bool covers_exactly(const std::vector<std::string>& domains) const;
};

// Reads a PEM chain + key into a StoredCertificate (paths left empty).
// nullopt with `error` set ("certificate PEM is malformed", "private key does
// not match the certificate") when they do not form a usable pair.
std::optional<StoredCertificate> parse_certificate(std::string certificate_pem, std::string private_key_pem,
                                                   std::string* error = nullptr);

class CertificateStore {
 public:
  explicit CertificateStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // The current certificate stored for these domains (looked up by the first
  // one), if it exists, loads, and covers exactly `domains`. Expired
  // certificates are returned too: the caller decides. `error` says why
  // nothing was returned when a file exists but is unusable.
  std::optional<StoredCertificate> load(const std::vector<std::string>& domains,
                                        std::string* error = nullptr) const;

  // Writes a new version and makes it current. Returns it with its paths.
  StoredCertificate save(const StoredCertificate& certificate) const;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  // The directory name of a certificate whose first domain is `domain`.
  static std::string entry_name(std::string_view domain);

 private:
  std::filesystem::path dir_;
};

}  // namespace basalt::acme
