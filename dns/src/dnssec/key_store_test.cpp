#include "basalt/dns/dnssec/key_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
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

// The states a kill during the first start can leave (keys are written as
// two temporary files, then the .private is renamed into place, then the
// .key): each must let the next start work, without ever deleting a key
// basalt did not write.
class KeyDirectoryCrashTest : public KeyStoreTest {
 protected:
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / name) << text;
  }
  const Name zone_ = N("example.test.");
};

TEST_F(KeyDirectoryCrashTest, TemporaryFilesOfAnInterruptedWriteAreRemovedOnStart) {
  // Killed while writing the two temporary files: no key exists yet.
  auto lost = SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kKskFlags, 1);
  write("." + lost.file_stem(zone_) + ".private.tmp.Ab12Cd", lost.bind_private_text());
  write("." + lost.file_stem(zone_) + ".key.tmp.Ef34Gh", "");
  // Another zone's temporary file is that zone's business.
  write(".Kother.test.+013+00001.key.tmp.Ij56Kl", "");

  auto keys = load_or_create_keys({.dir = dir_, .zone = zone_}, 2);
  ASSERT_EQ(keys.size(), 1u);
  auto stem = keys[0].file_stem(zone_);
  EXPECT_EQ(files(), (std::vector<std::string>{".Kother.test.+013+00001.key.tmp.Ij56Kl", stem + ".key",
                                               stem + ".private"}));
}

TEST_F(KeyDirectoryCrashTest, APrivateFileWeWereWritingIsRemovedAndANewKeyMade) {
  // Killed between the two renames: the .private is in place, its .key is
  // still the temporary file beside it. That temporary file is the proof
  // that basalt wrote this .private and that no one ever used the key.
  auto lost = SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kKskFlags, 1);
  auto lost_stem = lost.file_stem(zone_);
  write(lost_stem + ".private", lost.bind_private_text());
  write("." + lost_stem + ".key.tmp.Ef34Gh", lost.bind_key_text(zone_));

  auto keys = load_or_create_keys({.dir = dir_, .zone = zone_}, 2);
  ASSERT_EQ(keys.size(), 1u);
  auto stem = keys[0].file_stem(zone_);
  EXPECT_EQ(files(), (std::vector<std::string>{stem + ".key", stem + ".private"}));
  // And the start after that loads the same key.
  auto again = load_or_create_keys({.dir = dir_, .zone = zone_}, 3);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].dnskey_rdata(), keys[0].dnskey_rdata());
}

TEST_F(KeyDirectoryCrashTest, AnEarlierVersionsInterruptedWriteIsRecognisedToo) {
  // Earlier versions wrote the .private, then the .key through its own
  // temporary file: a kill during the second write left this.
  auto lost = SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 1);
  auto lost_stem = lost.file_stem(zone_);
  write(lost_stem + ".private", lost.bind_private_text());
  write("." + lost_stem + ".key.tmp.Q1w2E3", "");

  auto keys = load_or_create_keys({.dir = dir_, .zone = zone_, .algorithm = Algorithm::kEd25519}, 2);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_NE(keys[0].dnskey_rdata(), lost.dnskey_rdata());
  EXPECT_FALSE(fs::exists(dir_ / (lost_stem + ".private")));
  EXPECT_EQ(files().size(), 2u);
}

TEST_F(KeyDirectoryCrashTest, AnImportedPrivateFileWithoutItsKeyStopsTheStartAndIsKept) {
  // No temporary file beside it: basalt was not writing it (a key copied in
  // from elsewhere whose .key was forgotten). Never deleted; the start fails
  // naming the file.
  auto imported = SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kKskFlags, 1);
  auto stem = imported.file_stem(zone_);
  write(stem + ".private", imported.bind_private_text());
  try {
    load_or_create_keys({.dir = dir_, .zone = zone_}, 2);
    FAIL() << "started without the .key of an imported key";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find((dir_ / (stem + ".private")).string()), std::string::npos) << what;
    EXPECT_NE(what.find("no " + stem + ".key"), std::string::npos) << what;
  }
  EXPECT_EQ(files(), (std::vector<std::string>{stem + ".private"}));
}

TEST_F(KeyDirectoryCrashTest, WritingAKeyLeavesExactlyItsTwoFiles) {
  auto key = SigningKey::generate(Algorithm::kEd25519, SigningKey::kZskFlags, 1);
  auto pub = write_key(dir_, zone_, key);
  auto stem = key.file_stem(zone_);
  EXPECT_EQ(pub, dir_ / (stem + ".key"));
  EXPECT_EQ(files(), (std::vector<std::string>{stem + ".key", stem + ".private"}));
  auto loaded = load_keys(dir_, zone_);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].dnskey_rdata(), key.dnskey_rdata());
}

}  // namespace
}  // namespace basalt::dns
