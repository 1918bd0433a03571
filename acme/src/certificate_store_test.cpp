#include "basalt/acme/certificate_store.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "basalt/core/file.hpp"
#include "basalt/core/tls.hpp"

namespace basalt::acme {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free_all(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

core::PemCertificate make_cert(std::vector<std::string> names, std::chrono::seconds validity = 24h * 90) {
  std::string error;
  auto pem = core::generate_self_signed({.dns_names = std::move(names), .validity = validity}, &error);
  EXPECT_TRUE(pem) << error;
  return pem.value_or(core::PemCertificate{});
}

// generate_self_signed's certificate moved to 10 days ago (valid for 2 days) and signed again.
core::PemCertificate expired_cert(const std::string& name) {
  auto pem = make_cert({name});
  BioPtr cert_bio(BIO_new_mem_buf(pem.certificate.data(), static_cast<int>(pem.certificate.size())));
  BioPtr key_bio(BIO_new_mem_buf(pem.private_key.data(), static_cast<int>(pem.private_key.size())));
  std::unique_ptr<X509, decltype(&X509_free)> x(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr),
                                                &X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  EXPECT_TRUE(x && key);
  if (!x || !key) return pem;
  EXPECT_TRUE(X509_gmtime_adj(X509_getm_notBefore(x.get()), -10L * 86400));
  EXPECT_TRUE(X509_gmtime_adj(X509_getm_notAfter(x.get()), -8L * 86400));
  EXPECT_GT(X509_sign(x.get(), key.get(), EVP_sha256()), 0);
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), x.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  pem.certificate.assign(data, static_cast<std::size_t>(n));
  return pem;
}

StoredCertificate stored(const core::PemCertificate& pem, std::vector<std::string> domains = {}) {
  StoredCertificate c;
  c.certificate_pem = pem.certificate;
  c.private_key_pem = pem.private_key;
  c.domains = std::move(domains);
  return c;
}

unsigned mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

class CertificateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-certificate-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST(CertificateStoreName, WildcardAndCase) {
  EXPECT_EQ(CertificateStore::entry_name("example.com"), "example.com");
  EXPECT_EQ(CertificateStore::entry_name("*.Example.COM"), "_.example.com");
  EXPECT_EQ(CertificateStore::entry_name("WWW.example.com"), "www.example.com");
  // Whatever it is given, the name stays one directory entry.
  EXPECT_EQ(CertificateStore::entry_name("a/../b").find('/'), std::string::npos);
}

TEST(ParseCertificate, ReadsTheLeaf) {
  const auto pem = make_cert({"Example.com", "*.example.com", "www.example.org"}, 24h * 90);
  const auto before = std::chrono::system_clock::now();
  std::string error;
  auto c = parse_certificate(pem.certificate, pem.private_key, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->domains, (std::vector<std::string>{"example.com", "*.example.com", "www.example.org"}));
  // generate_self_signed: valid from 5 minutes ago for 90 days.
  EXPECT_LE(c->not_before, before - 299s);
  EXPECT_GE(c->not_before, before - 360s);
  EXPECT_LE(c->not_after - before, 24h * 90 + 60s);
  EXPECT_GE(c->not_after - before, 24h * 90 - 60s);
  EXPECT_EQ(c->certificate_pem, pem.certificate);
  EXPECT_EQ(c->private_key_pem, pem.private_key);
  EXPECT_TRUE(c->certificate_path.empty());
}

TEST(ParseCertificate, RejectsUnusablePairs) {
  const auto a = make_cert({"a.example"});
  const auto b = make_cert({"b.example"});
  std::string error;
  EXPECT_FALSE(parse_certificate(a.certificate, b.private_key, &error));
  EXPECT_NE(error.find("private key does not match the certificate"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(parse_certificate("garbage", a.private_key, &error));
  EXPECT_NE(error.find("certificate PEM is malformed"), std::string::npos) << error;
  error.clear();
  // Not read as a file name, even when it looks like one.
  EXPECT_FALSE(parse_certificate(a.certificate, "/etc/passwd", &error));
  EXPECT_NE(error.find("private key PEM is malformed"), std::string::npos) << error;
  std::string truncated = a.certificate.substr(0, a.certificate.size() / 2);
  EXPECT_FALSE(parse_certificate(truncated, a.private_key, &error));
}

// A self-signed certificate for `name` on a new key of `type`.
core::PemCertificate cert_with_key(KeyType type, const std::string& name) {
  core::PemCertificate pem;
  pem.private_key = generate_private_key(type);
  BioPtr key_bio(BIO_new_mem_buf(pem.private_key.data(), static_cast<int>(pem.private_key.size())));
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  EXPECT_TRUE(key && x);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 30);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  X509_set_pubkey(x.get(), key.get());
  EXPECT_GT(X509_sign(x.get(), key.get(), EVP_sha256()), 0);
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), x.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  pem.certificate.assign(data, static_cast<std::size_t>(n));
  return pem;
}

TEST(ParseCertificate, TellsTheKeyType) {
  auto ec = cert_with_key(KeyType::kEcdsaP256, "ec.example");
  auto rsa = cert_with_key(KeyType::kRsa2048, "rsa.example");
  auto a = parse_certificate(ec.certificate, ec.private_key);
  auto b = parse_certificate(rsa.certificate, rsa.private_key);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->key_type, KeyType::kEcdsaP256);
  EXPECT_EQ(b->key_type, KeyType::kRsa2048);
}

TEST(StoredCertificateCovers, IsSetEqualityIgnoringCase) {
  StoredCertificate c;
  c.domains = {"example.com", "*.example.com"};
  EXPECT_TRUE(c.covers_exactly({"*.example.com", "EXAMPLE.com"}));
  EXPECT_TRUE(c.covers_exactly({"example.com", "*.example.com", "example.com"}));
  EXPECT_FALSE(c.covers_exactly({"example.com"}));
  EXPECT_FALSE(c.covers_exactly({"example.com", "*.example.com", "www.example.com"}));
  EXPECT_FALSE(c.covers_exactly({}));
}

TEST_F(CertificateStoreTest, SaveThenLoadRoundTrip) {
  CertificateStore store(root_ / "certs");
  const std::vector<std::string> domains{"*.example.com", "example.com"};
  const auto pem = make_cert(domains);
  const auto saved = store.save(stored(pem, domains));
  const fs::path entry = root_ / "certs" / "_.example.com";
  EXPECT_EQ(saved.certificate_path.parent_path().parent_path(), entry);
  EXPECT_EQ(saved.certificate_path.filename(), "fullchain.pem");
  EXPECT_EQ(saved.key_path.filename(), "privkey.pem");
  EXPECT_EQ(core::read_file(saved.certificate_path).value_or(""), pem.certificate);
  EXPECT_EQ(core::read_file(saved.key_path).value_or(""), pem.private_key);
  EXPECT_EQ(saved.domains, domains);

  EXPECT_EQ(mode(root_ / "certs"), 0700u);
  EXPECT_EQ(mode(entry), 0700u);
  EXPECT_EQ(mode(saved.certificate_path.parent_path()), 0700u);
  EXPECT_EQ(mode(saved.certificate_path), 0600u);
  EXPECT_EQ(mode(saved.key_path), 0600u);
  EXPECT_TRUE(fs::is_symlink(entry / "current"));
  EXPECT_EQ(fs::canonical(entry / "current"), fs::canonical(saved.certificate_path.parent_path()));

  std::string error = "stale";
  auto loaded = store.load({"*.EXAMPLE.com", "example.com"}, &error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_EQ(error, "");
  EXPECT_EQ(loaded->certificate_pem, pem.certificate);
  EXPECT_EQ(loaded->private_key_pem, pem.private_key);
  EXPECT_EQ(loaded->domains, domains);
  EXPECT_EQ(loaded->not_after, saved.not_after);
  EXPECT_EQ(loaded->not_before, saved.not_before);
  EXPECT_EQ(loaded->certificate_path, saved.certificate_path);
  EXPECT_EQ(loaded->key_path, saved.key_path);
  // The paths are usable as a TLS certificate source.
  EXPECT_TRUE(core::TlsCertifiedKey::load({loaded->certificate_path.string(), loaded->key_path.string()}));
}

TEST_F(CertificateStoreTest, NothingStoredIsNotAnError) {
  CertificateStore store(root_ / "missing");
  std::string error = "stale";
  EXPECT_FALSE(store.load({"example.com"}, &error));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(fs::exists(root_ / "missing"));
}

TEST_F(CertificateStoreTest, DifferentDomainSetLoadsNothing) {
  CertificateStore store(root_);
  store.save(stored(make_cert({"example.com", "www.example.com"})));
  std::string error;
  EXPECT_FALSE(store.load({"example.com"}, &error));
  EXPECT_NE(error.find("www.example.com"), std::string::npos) << error;
  EXPECT_FALSE(store.load({"example.com", "www.example.com", "api.example.com"}, &error));
  EXPECT_TRUE(store.load({"example.com", "www.example.com"}, &error)) << error;
}

TEST_F(CertificateStoreTest, FindsACertificateSavedInAnotherDomainOrder) {
  // A CA may return the SANs in another order than the order requested.
  CertificateStore store(root_);
  store.save(stored(make_cert({"b.example", "a.example"})));
  EXPECT_TRUE(fs::exists(root_ / "b.example" / "current"));
  std::string error;
  auto loaded = store.load({"a.example", "b.example"}, &error);
  ASSERT_TRUE(loaded) << error;
}

TEST_F(CertificateStoreTest, CallerOrderNamesTheEntry) {
  CertificateStore store(root_);
  store.save(stored(make_cert({"b.example", "a.example"}), {"a.example", "b.example"}));
  EXPECT_TRUE(fs::exists(root_ / "a.example" / "current"));
  EXPECT_FALSE(fs::exists(root_ / "b.example"));
}

TEST_F(CertificateStoreTest, SwitchesCurrentKeepsPreviousRemovesOlder) {
  CertificateStore store(root_);
  const fs::path entry = root_ / "example.com";
  std::vector<StoredCertificate> saved;
  std::vector<core::PemCertificate> pems;
  for (int i = 0; i < 4; ++i) {
    pems.push_back(make_cert({"example.com"}));
    saved.push_back(store.save(stored(pems.back())));
    auto loaded = store.load({"example.com"});
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->certificate_pem, pems.back().certificate) << "save " << i;
    EXPECT_EQ(loaded->private_key_pem, pems.back().private_key) << "save " << i;
  }
  std::set<fs::path> version_dirs;
  for (const auto& s : saved) version_dirs.insert(s.certificate_path.parent_path());
  EXPECT_EQ(version_dirs.size(), 4u);  // a new version directory every time

  // Current and previous are kept, with their files; the older two are gone.
  EXPECT_TRUE(fs::exists(saved[3].certificate_path));
  EXPECT_EQ(core::read_file(saved[2].certificate_path).value_or(""), pems[2].certificate);
  EXPECT_EQ(core::read_file(saved[2].key_path).value_or(""), pems[2].private_key);
  EXPECT_FALSE(fs::exists(saved[1].certificate_path.parent_path()));
  EXPECT_FALSE(fs::exists(saved[0].certificate_path.parent_path()));
  std::set<std::string> expected{"current", saved[3].certificate_path.parent_path().filename().string(),
                                 saved[2].certificate_path.parent_path().filename().string()};
  std::set<std::string> found = entries(entry);
  found.erase(".lock");  // the save lock may stay
  EXPECT_EQ(found, expected);
}

TEST_F(CertificateStoreTest, SaveRejectsAnUnusablePairAndKeepsTheCurrentOne) {
  CertificateStore store(root_);
  const auto good = make_cert({"example.com"});
  store.save(stored(good));
  const auto other = make_cert({"example.com"});
  StoredCertificate mismatched = stored(good);
  mismatched.private_key_pem = other.private_key;
  try {
    store.save(mismatched);
    ADD_FAILURE() << "saved a certificate with the wrong key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("private key does not match"), std::string::npos) << e.what();
  }
  // Domains that the certificate does not cover would never load again.
  EXPECT_THROW(store.save(stored(good, {"example.com", "www.example.com"})), std::runtime_error);
  auto loaded = store.load({"example.com"});
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->private_key_pem, good.private_key);
}

TEST_F(CertificateStoreTest, CorruptOrMismatchedFilesGiveAnError) {
  CertificateStore store(root_);
  const auto saved = store.save(stored(make_cert({"example.com"})));

  // A key that is not the certificate's.
  ASSERT_TRUE(core::write_file_atomic(saved.key_path, make_cert({"example.com"}).private_key));
  std::string error;
  EXPECT_FALSE(store.load({"example.com"}, &error));
  EXPECT_NE(error.find("private key does not match the certificate"), std::string::npos) << error;
  EXPECT_NE(error.find(saved.certificate_path.parent_path().string()), std::string::npos) << error;

  // A truncated certificate.
  ASSERT_TRUE(core::write_file_atomic(saved.certificate_path, "-----BEGIN CERTIFICATE-----\nMIIB\n"));
  error.clear();
  EXPECT_FALSE(store.load({"example.com"}, &error));
  EXPECT_NE(error.find("certificate PEM is malformed"), std::string::npos) << error;

  // A missing file.
  fs::remove(saved.key_path);
  error.clear();
  EXPECT_FALSE(store.load({"example.com"}, &error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  EXPECT_NE(error.find("privkey.pem"), std::string::npos) << error;
}

TEST_F(CertificateStoreTest, ExpiredCertificatesAreReturned) {
  CertificateStore store(root_);
  const auto pem = expired_cert("old.example");
  store.save(stored(pem));
  auto loaded = store.load({"old.example"});
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->certificate_pem, pem.certificate);
  EXPECT_LT(loaded->not_after, std::chrono::system_clock::now() - 24h);
  EXPECT_LT(loaded->not_before, loaded->not_after);
}

TEST_F(CertificateStoreTest, ConcurrentSavesLeaveAUsablePair) {
  CertificateStore store(root_);
  std::vector<core::PemCertificate> pems;
  for (int i = 0; i < 4; ++i) pems.push_back(make_cert({"example.com"}));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (const auto& pem : pems) {
    threads.emplace_back([&store, &failures, pem] {
      for (int i = 0; i < 5; ++i) {
        try {
          store.save(stored(pem));
        } catch (const std::exception&) {
          ++failures;
        }
        if (!store.load({"example.com"})) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto loaded = store.load({"example.com"});
  ASSERT_TRUE(loaded);
  const bool one_of_them = std::any_of(pems.begin(), pems.end(), [&](const auto& p) {
    return p.certificate == loaded->certificate_pem && p.private_key == loaded->private_key_pem;
  });
  EXPECT_TRUE(one_of_them);
  // At most the current and the previous version remain.
  int versions = 0;
  for (const auto& e : fs::directory_iterator(root_ / "example.com"))
    if (e.is_directory() && !e.is_symlink()) ++versions;
  EXPECT_LE(versions, 2);
}

}  // namespace
}  // namespace basalt::acme
