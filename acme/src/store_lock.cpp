#include "basalt/acme/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace basalt::acme {
namespace {

namespace fs = std::filesystem;

std::runtime_error errno_error(std::string_view what, const fs::path& p, int err) {
  std::string out(what);
  out.append(" \"").append(p.string()).append("\": ").append(std::strerror(err));
  return std::runtime_error(out);
}

void make_private_directories(const fs::path& dir) {
  std::error_code ec;
  if (dir.empty() || fs::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) make_private_directories(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) == 0) {
    ::chmod(dir.c_str(), 0700);  // the umask can only have removed bits
    return;
  }
  const int err = errno;
  if (err == EEXIST && fs::is_directory(dir, ec)) return;  // made by another process meanwhile
  throw errno_error("cannot create directory", dir, err);
}

}  // namespace

std::optional<StoreLock> StoreLock::try_acquire(const fs::path& path) {
  make_private_directories(path.parent_path());
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw errno_error("cannot open lock file", path, errno);
  StoreLock lock(fd, path);  // closes on every path below
  int rc = 0;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return lock;
  if (errno == EWOULDBLOCK) return std::nullopt;
  throw errno_error("cannot lock", path, errno);
}

StoreLock::StoreLock(StoreLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

StoreLock::~StoreLock() {
  release();
}

void StoreLock::release() noexcept {
  // Closing the descriptor releases the flock unless a forked child still
  // holds the open file description (it is not dup'ed, and O_CLOEXEC keeps
  // it from exec'd programs).
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace basalt::acme
