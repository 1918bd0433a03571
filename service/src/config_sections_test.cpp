#include <gtest/gtest.h>

#include "basalt/acme/problem.hpp"
#include "basalt/core/config.hpp"
#include "basalt/service/acme_config.hpp"
#include "basalt/service/certificate_request.hpp"
#include "basalt/service/tls_config.hpp"

namespace basalt::service {
namespace {

// A daemon reading the shared section under other names (as the proxy reads
// smartproxy's `acme` options): same struct, same checks, its own keys.
struct CamelAcme : AcmeConfig {};
BOOST_DESCRIBE_STRUCT(CamelAcme, (AcmeConfig), ())

std::string error_of(auto decode) {
  try {
    decode();
  } catch (const core::config::Error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace
}  // namespace basalt::service

namespace basalt::core::config {
template <>
inline constexpr KeyStyle key_style<service::CamelAcme> = KeyStyle::camel;
template <>
struct KeyNames<service::CamelAcme> {
  static constexpr std::string_view of(std::string_view m) {
    return m == "cert_dir" ? "certificateStore" : "";
  }
};
}  // namespace basalt::core::config

namespace basalt::service {
namespace {

TEST(AcmeConfigSection, SnakeCaseKeysAndTheirErrors) {
  auto v = core::config::parse_yaml(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [a.example.test], cert_dir: /c, "
      "renew_before: 30d, key_type: rsa-2048}");
  auto c = core::config::decode<AcmeConfig>(v, "acme");
  EXPECT_EQ(c.cert_dir, "/c");
  EXPECT_EQ(c.key_type, "rsa-2048");
  auto bad = core::config::parse_yaml(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [a.example.test], key_type: dsa}");
  EXPECT_EQ(error_of([&] { core::config::decode<AcmeConfig>(bad, "acme"); }),
            "acme.key_type: \"dsa\" is not one of: ecdsa-p256, rsa-2048");
}

TEST(AcmeConfigSection, ADerivedStructReadsAndReportsItsOwnKeys) {
  auto v = core::config::parse_yaml(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [a.example.test], "
      "certificateStore: /c, accountKeyType: rsa-2048}");
  auto c = core::config::decode<CamelAcme>(v, "acme");
  EXPECT_EQ(c.cert_dir, "/c");
  EXPECT_EQ(c.account_key_type, "rsa-2048");
  auto bad = core::config::parse_yaml(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [a.example.test, A.example.test]}");
  EXPECT_EQ(error_of([&] { core::config::decode<CamelAcme>(bad, "acme"); }),
            "acme.domains[1]: \"A.example.test\" is listed twice");
  auto snake = core::config::parse_yaml("{cert_dir: /c}");
  EXPECT_NE(error_of([&] { core::config::decode<CamelAcme>(snake, "acme"); }).find("certificateStore"),
            std::string::npos);
  auto type = core::config::parse_yaml(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [a.example.test], keyType: dsa}");
  EXPECT_EQ(error_of([&] { core::config::decode<CamelAcme>(type, "acme"); }),
            "acme.keyType: \"dsa\" is not one of: ecdsa-p256, rsa-2048");
}

TEST(MakeOrder, RequestFieldsWinThenTheSectionThenTheStateDir) {
  AcmeConfig section{.email = "ops@example.test", .directory = "https://ca.test/dir", .key_type = "rsa-2048"};
  auto o = make_order({.domains = {"WWW.Example.Test"}}, &section, "/state");
  EXPECT_EQ(o.domains, std::vector<std::string>{"www.example.test"});
  EXPECT_EQ(o.cert_dir, "/state/certs");
  EXPECT_EQ(o.client.directory, "https://ca.test/dir");
  EXPECT_EQ(o.client.key_type, acme::KeyType::kRsa2048);
  EXPECT_EQ(o.client.contact, std::vector<std::string>{"mailto:ops@example.test"});
  auto mine = make_order({.domains = {"a.example.test"},
                          .directory = "https://other.test/dir",
                          .key_type = acme::KeyType::kEcdsaP256},
                         &section, "/state");
  EXPECT_EQ(mine.client.directory, "https://other.test/dir");
  EXPECT_EQ(mine.client.key_type, acme::KeyType::kEcdsaP256);
  EXPECT_THROW(make_order({.domains = {"a.example.test"}}, nullptr, "/state"), acme::Error);
}

}  // namespace
}  // namespace basalt::service
