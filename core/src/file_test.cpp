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

TEST_F(FileTest, PendingFilesAppearOnlyWhenCommittedAndVanishOtherwise) {
  const auto a = dir_ / "a.private", b = dir_ / "a.key";
  std::string error;
  auto first = PendingFile::write(a, "secret", fs::perms::owner_read | fs::perms::owner_write, &error);
  ASSERT_TRUE(first) << error;
  auto second = PendingFile::write(b, "public");
  ASSERT_TRUE(second);
  EXPECT_TRUE(first->temporary_path().filename().string().starts_with(pending_file_prefix(a)));
  EXPECT_EQ(pending_file_prefix(a), ".a.private.tmp.");
  EXPECT_FALSE(fs::exists(a));
  EXPECT_TRUE(fs::exists(first->temporary_path()));
  ASSERT_TRUE(first->commit(&error)) << error;
  EXPECT_EQ(read_file(a).value_or(""), "secret");
  auto temp = second->temporary_path();
  second.reset();  // never committed: removed
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(b));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(FileTest, InputFilesAreRegularFilesOnly) {
  std::string reason;
  EXPECT_FALSE(InputFile::open(dir_ / "nope", &reason));
  EXPECT_EQ(reason, "No such file or directory");
  EXPECT_FALSE(InputFile::open(dir_, &reason));
  EXPECT_EQ(reason, "not a regular file (a directory)");
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  EXPECT_FALSE(InputFile::open(dir_ / "fifo", &reason));  // at once, without a writer
  EXPECT_EQ(reason, "not a regular file (a FIFO)");
  EXPECT_FALSE(InputFile::open("/dev/zero", &reason));
  EXPECT_EQ(reason, "not a regular file (a character device)");

  ASSERT_TRUE(write_file_atomic(dir_ / "data", "0123456789"));
  fs::create_symlink(dir_ / "data", dir_ / "link");
  auto in = InputFile::open(dir_ / "link", &reason);
  ASSERT_TRUE(in) << reason;
  char buf[4];
  std::string got;
  while (auto n = in->read(buf, sizeof buf)) {
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "0123456789");
}

TEST_F(FileTest, ReadRegularFileHasALimit) {
  ASSERT_TRUE(write_file_atomic(dir_ / "ten", "0123456789"));
  std::string reason;
  EXPECT_EQ(read_regular_file(dir_ / "ten", 10, &reason).value_or("?"), "0123456789");
  EXPECT_FALSE(read_regular_file(dir_ / "ten", 9, &reason));
  EXPECT_EQ(reason, "larger than 9 bytes");
  EXPECT_FALSE(read_regular_file("/dev/zero", 1 << 20, &reason));
  EXPECT_EQ(reason, "not a regular file (a character device)");
  EXPECT_EQ(format_size(16 << 20), "16 MiB");
  EXPECT_EQ(format_size(64 << 10), "64 KiB");
  EXPECT_EQ(format_size(1000), "1000 bytes");
}

}  // namespace
}  // namespace basalt::core
