#include "basalt/acme/certificate_manager.hpp"

#include <gtest/gtest.h>

namespace basalt::acme {
namespace {

TEST(NormalizeDomains, LowercasesAndDropsTheTrailingDot) {
  EXPECT_EQ(normalize_domains({"WWW.Example.COM.", "*.Example.com"}),
            (std::vector<std::string>{"www.example.com", "*.example.com"}));
}

TEST(NormalizeDomains, RefusesWhatNoCaCertifies) {
  for (const char* bad :
       {"", "localhost", "exa mple.com", "*.", "a.*.example.com", "**.example.com", "-a.example.com",
        "a-.example.com", "a..example.com", "_acme.example.com", "ex\xc3\xa4mple.com"}) {
    try {
      normalize_domains({bad});
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
    }
  }
  std::string long_label(64, 'a');
  long_label.append(".example.com");
  EXPECT_THROW(normalize_domains({long_label}), std::invalid_argument);
}

TEST(NormalizeDomains, RefusesDuplicatesAndAnEmptyList) {
  EXPECT_THROW(normalize_domains({}), std::invalid_argument);
  try {
    normalize_domains({"example.com", "EXAMPLE.com"});
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("given twice"), std::string::npos) << e.what();
  }
  // A name and its wildcard are different names.
  EXPECT_EQ(normalize_domains({"example.com", "*.example.com"}).size(), 2u);
}

TEST(DefaultAccountKeyPath, OneKeyPerDirectoryUrl) {
  EXPECT_EQ(default_account_key_path("/c", "https://acme-v02.api.letsencrypt.org/directory"),
            std::filesystem::path("/c/accounts/acme-v02.api.letsencrypt.org_directory/account.key"));
  EXPECT_EQ(default_account_key_path("/c", "https://127.0.0.1:14000/dir"),
            std::filesystem::path("/c/accounts/127.0.0.1_14000_dir/account.key"));
  // Staging and production of one CA are different accounts.
  EXPECT_NE(default_account_key_path("/c", "https://acme-staging-v02.api.letsencrypt.org/directory"),
            default_account_key_path("/c", "https://acme-v02.api.letsencrypt.org/directory"));
  // Nothing in the URL escapes the accounts directory.
  for (const char* url : {"https://x/../../etc/passwd", "https://../", "https://./"}) {
    auto p = default_account_key_path("/c", url);
    EXPECT_EQ(p.parent_path().parent_path(), std::filesystem::path("/c/accounts")) << url;
    EXPECT_NE(p.parent_path().filename(), "..") << url;
    EXPECT_NE(p.parent_path().filename(), ".") << url;
  }
}

}  // namespace
}  // namespace basalt::acme
