#include "basalt/dns/dnssec/key_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace basalt::dns {
namespace {
namespace fs = std::filesystem;

Name N(std::string_view s) {
  return *Name::from_text(s);
}

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/basalt-keys-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    root_ = tmpl;
    dir_ = root_ / "keys";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_, dir_;
};

TEST_F(KeyStoreTest, FirstStartCreatesOneCombinedKeyAndLaterStartsLoadIt) {
  auto keys = load_or_create_keys({.dir = dir_, .zone = N("example.test.")}, 1'800'000'000);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(keys[0].is_ksk());
  EXPECT_EQ(keys[0].algorithm(), Algorithm::kEcdsaP256Sha256);
  auto stem = dir_ / keys[0].file_stem(N("example.test."));
  for (auto ext : {".key", ".private"}) {
    auto p = fs::path(stem.string() + ext);
    ASSERT_TRUE(fs::exists(p)) << p;
    EXPECT_EQ(fs::status(p).permissions(), fs::perms::owner_read | fs::perms::owner_write) << p;
  }
  EXPECT_EQ(fs::status(dir_).permissions(), fs::perms::owner_all);

  auto again = load_or_create_keys({.dir = dir_, .zone = N("Example.TEST.")}, 1'800'000'100);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].dnskey_rdata(), keys[0].dnskey_rdata());
}

TEST_F(KeyStoreTest, KskZskLayoutMakesTwoKeys) {
  auto keys = load_or_create_keys({.dir = dir_,
                                   .zone = N("example.test."),
                                   .algorithm = Algorithm::kEd25519,
                                   .layout = KeyLayout::kKskZsk},
                                  1);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(keys[0].is_ksk(), keys[1].is_ksk());
  EXPECT_EQ(load_keys(dir_, N("example.test.")).size(), 2u);
}

TEST_F(KeyStoreTest, AnotherAlgorithmThanTheKeysIsAnError) {
  load_or_create_keys({.dir = dir_, .zone = N("example.test."), .algorithm = Algorithm::kEd25519}, 1);
  try {
    load_or_create_keys({.dir = dir_, .zone = N("example.test."), .algorithm = Algorithm::kRsaSha256}, 2);
    FAIL() << "a silent algorithm change would break the DS at the parent";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Kexample.test.+015+"), std::string::npos) << e.what();
  }
  // Without an algorithm asked for, the existing keys are used.
  EXPECT_EQ(load_or_create_keys({.dir = dir_, .zone = N("example.test.")}, 3)[0].algorithm(),
            Algorithm::kEd25519);
}

TEST_F(KeyStoreTest, OtherZonesKeysAreIgnoredAndBrokenFilesNamed) {
  write_key(dir_, N("other.test."), SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 1));
  EXPECT_TRUE(load_keys(dir_, N("example.test.")).empty());
  std::ofstream(dir_ / "Kexample.test.+013+00001.private") << "Private-key-format: v1.3\n";
  std::ofstream(dir_ / "Kexample.test.+013+00001.key") << "example.test. IN DNSKEY 257 3 13 AAAA\n";
  try {
    load_keys(dir_, N("example.test."));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Kexample.test.+013+00001.private"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace basalt::dns
