#include "basalt/acme/store_lock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace basalt::acme {
namespace {

namespace fs = std::filesystem;

class StoreLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-store-lock-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dir_;
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// The exit status of `pid`, or -1.
int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_F(StoreLockTest, ASecondAcquisitionFailsWhileTheFirstIsHeldAndSucceedsAfterRelease) {
  const auto path = dir_ / "store" / "example.test" / ".lock";
  auto first = StoreLock::try_acquire(path);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->path(), path);
  EXPECT_FALSE(StoreLock::try_acquire(path)) << "two holders in one process";

  // Moving hands the lock over; it is not released by the moved-from object.
  StoreLock moved = std::move(*first);
  first.reset();
  EXPECT_FALSE(StoreLock::try_acquire(path));

  { StoreLock released = std::move(moved); }
  auto again = StoreLock::try_acquire(path);
  EXPECT_TRUE(again) << "not released by the destructor";
  EXPECT_TRUE(fs::exists(path)) << "the lock file stays";

  // Move assignment releases what the target held.
  auto other = StoreLock::try_acquire(dir_ / "other.lock");
  ASSERT_TRUE(other);
  *other = std::move(*again);
  EXPECT_TRUE(StoreLock::try_acquire(dir_ / "other.lock"));
  EXPECT_FALSE(StoreLock::try_acquire(path));
}

TEST_F(StoreLockTest, CreatesPrivateDirectoriesAndAPrivateFile) {
  const mode_t old = ::umask(0);  // what a careless service manager might give us
  const auto path = dir_ / "a" / "b" / ".lock";
  auto lock = StoreLock::try_acquire(path);
  ::umask(old);
  ASSERT_TRUE(lock);
  EXPECT_EQ(mode_of(dir_ / "a"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "a" / "b"), 0700u);
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST_F(StoreLockTest, AnotherProcessHoldingTheLockExcludesThisOneUntilItExits) {
  const auto path = dir_ / ".lock";
  int locked[2], finish[2];
  ASSERT_EQ(::pipe(locked), 0);
  ASSERT_EQ(::pipe(finish), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(locked[0]);
    ::close(finish[1]);
    char c = 'x';
    std::optional<StoreLock> lock;
    try {
      lock = StoreLock::try_acquire(path);
      if (lock) c = 'L';
    } catch (...) {
      c = 'e';
    }
    (void)!::write(locked[1], &c, 1);
    char end;
    (void)!::read(finish[0], &end, 1);  // EOF when the parent closes its end
    ::_exit(0);
  }
  ::close(locked[1]);
  ::close(finish[0]);
  char c = 0;
  ASSERT_EQ(::read(locked[0], &c, 1), 1);
  ::close(locked[0]);
  EXPECT_EQ(c, 'L');
  EXPECT_FALSE(StoreLock::try_acquire(path)) << "the child holds it";
  ::close(finish[1]);  // the child exits without releasing: the kernel does
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_TRUE(StoreLock::try_acquire(path)) << "the lock outlived its process";
}

TEST_F(StoreLockTest, AProgramStartedWhileHoldingItDoesNotKeepIt) {
  const auto path = dir_ / ".lock";
  auto lock = StoreLock::try_acquire(path);
  ASSERT_TRUE(lock);
  int input[2], output[2];
  ASSERT_EQ(::pipe(input), 0);
  ASSERT_EQ(::pipe(output), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(input[0], 0);
    ::dup2(output[1], 1);
    ::close(input[0]);
    ::close(input[1]);
    ::close(output[0]);
    ::close(output[1]);
    ::execl("/bin/sh", "sh", "-c", "echo ready; read x; exit 0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(input[0]);
  ::close(output[1]);
  // Until exec the child shares the descriptor like any fork; "ready" comes after it.
  char c = 0;
  ASSERT_EQ(::read(output[0], &c, 1), 1);
  ::close(output[0]);
  lock.reset();  // the shell still runs, waiting on its stdin
  EXPECT_TRUE(StoreLock::try_acquire(path)) << "the lock descriptor leaked across exec";
  ::close(input[1]);
  EXPECT_EQ(wait_exit(pid), 0);
}

TEST_F(StoreLockTest, AFileThatCannotBeCreatedThrowsNamingThePath) {
  std::ofstream(dir_ / "file") << "not a directory";
  try {
    StoreLock::try_acquire(dir_ / "file" / "sub" / ".lock");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "file").string()), std::string::npos) << e.what();
  }
  fs::create_directory(dir_ / "dir.lock");
  try {
    StoreLock::try_acquire(dir_ / "dir.lock");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open lock file \"" + (dir_ / "dir.lock").string() + "\""),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace basalt::acme
