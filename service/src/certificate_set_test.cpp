#include "basalt/service/certificate_set.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "basalt/acme/certificate_store.hpp"
#include "basalt/core/config.hpp"

namespace basalt::service {
namespace {

namespace fs = std::filesystem;

core::PemCertificate make_cert(std::vector<std::string> names) {
  auto pem = core::generate_self_signed({.dns_names = std::move(names)});
  EXPECT_TRUE(pem);
  return pem.value_or(core::PemCertificate{});
}

acme::StoredCertificate acme_cert(std::vector<std::string> names) {
  auto pem = make_cert(names);
  auto c = acme::parse_certificate(pem.certificate, pem.private_key);
  EXPECT_TRUE(c);
  return c.value_or(acme::StoredCertificate{});
}

class CertificateSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-certificate-set-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(CertificateSetTest, ServesTheConfiguredCertificateAndSwapsIt) {
  auto a = make_cert({"a.example"});
  CertificateSet set({.tls = TlsConfig{.cert = a.certificate, .key = a.private_key}, .state_dir = dir_});
  auto ctx = set.context();
  EXPECT_EQ(ctx.select("a.example")->dns_names(), std::vector<std::string>{"a.example"});
  EXPECT_FALSE(fs::exists(dir_ / "tls-cert.pem"));  // nothing self-signed when one is configured

  auto b = make_cert({"b.example"});
  set.set_static({b.certificate, b.private_key});
  EXPECT_EQ(ctx.select("anything")->dns_names(), std::vector<std::string>{"b.example"});

  // A pair that does not load changes nothing.
  EXPECT_THROW(set.set_static({a.certificate, b.private_key}), std::invalid_argument);
  EXPECT_EQ(ctx.select("")->dns_names(), std::vector<std::string>{"b.example"});
  auto status = set.status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].source, CertificateOrigin::kStatic);
  EXPECT_EQ(status[0].key_type, "ecdsa-p256");
  EXPECT_TRUE(status[0].is_default);
}

TEST_F(CertificateSetTest, AConfiguredCertificateThatDoesNotLoadNamesTls) {
  auto a = make_cert({"a.example"});
  try {
    CertificateSet set({.tls = TlsConfig{.cert = a.certificate, .key = "/nonexistent/key.pem"}});
    ADD_FAILURE() << "accepted";
  } catch (const core::config::Error& e) {
    EXPECT_EQ(e.path(), "tls");
    EXPECT_NE(std::string(e.what()).find("/nonexistent/key.pem"), std::string::npos) << e.what();
  }
}

TEST_F(CertificateSetTest, SelfSignedIsKeptInTheStateDirAndReused) {
  std::string first;
  {
    CertificateSet set({.state_dir = dir_.string(), .self_signed_name = "doh"});
    auto names = set.context().select("")->dns_names();
    EXPECT_EQ(names, std::vector<std::string>{"localhost"});
    first = read(dir_ / "doh-cert.pem");
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "doh-key.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(set.status().at(0).source, CertificateOrigin::kSelfSigned);
  }
  CertificateSet again({.state_dir = dir_.string(), .self_signed_name = "doh"});
  again.context();
  EXPECT_EQ(read(dir_ / "doh-cert.pem"), first);
}

TEST_F(CertificateSetTest, NoCertificateAndNoStateDirIsAConfigError) {
  CertificateSet set({});
  try {
    set.context();
    ADD_FAILURE() << "made a context without a certificate";
  } catch (const core::config::Error& e) {
    EXPECT_EQ(e.path(), "tls");
  }
}

TEST_F(CertificateSetTest, AcmeCertificatesAreChosenBySniAndTheNewestIsTheDefault) {
  auto base = make_cert({"base.example"});
  CertificateSet set({.tls = TlsConfig{.cert = base.certificate, .key = base.private_key}});
  auto ctx = set.context();
  set.install(acme_cert({"www.example", "*.www.example"}));
  set.install(acme_cert({"api.example"}));
  EXPECT_EQ(ctx.select("x.www.example")->dns_names().front(), "www.example");
  EXPECT_EQ(ctx.select("base.example")->dns_names().front(), "base.example");
  EXPECT_EQ(ctx.select("unknown.example")->dns_names().front(), "api.example");
  // A renewal replaces the entry of the same first name instead of adding one.
  set.install(acme_cert({"www.example", "*.www.example"}));
  auto status = set.status();
  ASSERT_EQ(status.size(), 3u);
  EXPECT_EQ(status[0].names.front(), "www.example");
  EXPECT_EQ(status[0].source, CertificateOrigin::kAcme);
  EXPECT_TRUE(status[0].is_default);
  EXPECT_EQ(status[1].names.front(), "api.example");
  EXPECT_EQ(status[2].source, CertificateOrigin::kStatic);
  EXPECT_FALSE(status[2].is_default);
  EXPECT_LT(status[2].not_before, status[2].not_after);
}

}  // namespace
}  // namespace basalt::service
