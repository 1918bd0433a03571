#include "basalt/core/file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace basalt::core {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-file-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileTest, WritesAtomicallyWith0600AndReplaces) {
  const auto path = dir_ / "key.pem";
  std::string error;
  ASSERT_TRUE(write_file_atomic(path, "first", fs::perms::owner_read | fs::perms::owner_write, &error))
      << error;
  EXPECT_EQ(read_file(path).value_or(""), "first");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  ASSERT_TRUE(write_file_atomic(path, "second"));
  EXPECT_EQ(read_file(path).value_or(""), "second");
  // No temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(FileTest, HonoursMode) {
  const auto path = dir_ / "public.txt";
  ASSERT_TRUE(write_file_atomic(
      path, "x",
      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(FileTest, FailsWithReasonAndKeepsOldFile) {
  std::string error;
  EXPECT_FALSE(write_file_atomic(dir_ / "missing" / "key.pem", "x", fs::perms::owner_read, &error));
  EXPECT_EQ(error,
            "cannot write \"" + (dir_ / "missing" / "key.pem").string() + "\": No such file or directory");

  // Renaming over a directory fails; the directory is untouched.
  fs::create_directory(dir_ / "d");
  EXPECT_FALSE(write_file_atomic(dir_ / "d", "x", fs::perms::owner_read, &error));
  EXPECT_TRUE(fs::is_directory(dir_ / "d"));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);  // no temp file left
}

TEST_F(FileTest, ReadFileErrors) {
  std::string error;
  EXPECT_FALSE(read_file(dir_ / "nope", &error));
  EXPECT_EQ(error, "cannot read \"" + (dir_ / "nope").string() + "\": No such file or directory");
  EXPECT_FALSE(read_file(dir_, &error));
  EXPECT_NE(error.find("Is a directory"), std::string::npos);
  ASSERT_TRUE(write_file_atomic(dir_ / "empty", ""));
  EXPECT_EQ(read_file(dir_ / "empty").value_or("x"), "");
}

}  // namespace
}  // namespace basalt::core
