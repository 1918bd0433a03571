#include "certs/challenge_board.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace basalt::proxy {
namespace {

namespace fs = std::filesystem;

class ChallengeBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-challenge-board-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    store_ = tmpl;
  }
  void TearDown() override { fs::remove_all(store_); }
  fs::path store_;
};

TEST_F(ChallengeBoardTest, Http01AnswersOnlyItsTokenForItsHost) {
  ChallengeBoard board(store_);
  board.add_http01("a.example.test", "tok-EN_1", "tok-EN_1.thumb");
  EXPECT_EQ(board.http01("a.example.test", "tok-EN_1"), "tok-EN_1.thumb");
  EXPECT_FALSE(board.http01("b.example.test", "tok-EN_1"));  // another Host
  EXPECT_FALSE(board.http01("a.example.test", "other"));
  EXPECT_FALSE(board.http01("a.example.test", "../../etc/passwd"));
  board.remove_http01("tok-EN_1");
  EXPECT_FALSE(board.http01("a.example.test", "tok-EN_1"));
  EXPECT_THROW(board.add_http01("a.example.test", "bad/token", "x"), std::runtime_error);
}

TEST_F(ChallengeBoardTest, AnotherProxySharingTheStoreAnswersTheChallenge) {
  ChallengeBoard presenting(store_), answering(store_);
  presenting.add_http01("a.example.test", "shared", "shared.thumb");
  EXPECT_EQ(answering.http01("a.example.test", "shared"), "shared.thumb");
  auto mode = fs::status(store_ / "challenges" / "http-01" / "shared").permissions();
  EXPECT_EQ(mode & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  presenting.remove_http01("shared");
  EXPECT_FALSE(answering.http01("a.example.test", "shared"));

  presenting.add_tls_alpn("b.example.test", "tok.thumb");
  auto context = answering.tls_alpn("B.example.test.");
  ASSERT_TRUE(context);
  EXPECT_NE(context->native_handle(), nullptr);
  EXPECT_FALSE(answering.tls_alpn("c.example.test"));
  presenting.remove_tls_alpn("b.example.test");
  EXPECT_FALSE(answering.tls_alpn("b.example.test"));
}

TEST_F(ChallengeBoardTest, WithoutAStoreChallengesStayInMemory) {
  ChallengeBoard board{fs::path()};
  board.add_http01("a.example.test", "t", "t.k");
  board.add_tls_alpn("a.example.test", "t.k");
  EXPECT_EQ(board.http01("a.example.test", "t"), "t.k");
  EXPECT_TRUE(board.tls_alpn("a.example.test"));
  board.remove_tls_alpn("a.example.test");
  EXPECT_FALSE(board.tls_alpn("a.example.test"));
}

TEST_F(ChallengeBoardTest, AMalformedChallengeFileIsIgnored) {
  fs::create_directories(store_ / "challenges" / "http-01");
  std::ofstream(store_ / "challenges" / "http-01" / "junk") << "{not json";
  ChallengeBoard board(store_);
  EXPECT_FALSE(board.http01("a.example.test", "junk"));
}

}  // namespace
}  // namespace basalt::proxy
