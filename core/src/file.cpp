#include "basalt/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace basalt::core {
namespace {

void set_error(std::string* error, std::string_view verb, const std::filesystem::path& path,
               int err) noexcept {
  if (!error) return;
  try {
    *error = std::string(verb) + " \"" + path.string() + "\": " + std::strerror(err);
  } catch (...) {
  }
}

void set_reason(std::string* reason, const char* text) noexcept {
  if (!reason) return;
  try {
    *reason = text;
  } catch (...) {
  }
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

void sync_directory(const std::filesystem::path& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// What a file that is not a regular file is, for the reason.
const char* not_regular(mode_t mode) {
  if (S_ISFIFO(mode)) return "not a regular file (a FIFO)";
  if (S_ISCHR(mode)) return "not a regular file (a character device)";
  if (S_ISBLK(mode)) return "not a regular file (a block device)";
  if (S_ISDIR(mode)) return "not a regular file (a directory)";
  if (S_ISSOCK(mode)) return "not a regular file (a socket)";
  return "not a regular file";
}

}  // namespace

std::string pending_file_prefix(const std::filesystem::path& path) {
  return "." + path.filename().string() + ".tmp.";
}

PendingFile::PendingFile(std::filesystem::path path, std::filesystem::path temp)
    : path_(std::move(path)), temp_(std::move(temp)) {}

PendingFile::PendingFile(PendingFile&& other) noexcept
    : path_(std::move(other.path_)), temp_(std::exchange(other.temp_, {})) {}

PendingFile& PendingFile::operator=(PendingFile&& other) noexcept {
  if (this != &other) {
    if (!temp_.empty()) ::unlink(temp_.c_str());
    path_ = std::move(other.path_);
    temp_ = std::exchange(other.temp_, {});
  }
  return *this;
}

PendingFile::~PendingFile() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

std::optional<PendingFile> PendingFile::write(const std::filesystem::path& path, std::string_view data,
                                              std::filesystem::perms mode, std::string* error) noexcept {
  try {
    std::string tmpl = (directory_of(path) / (pending_file_prefix(path) + "XXXXXX")).string();
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) {
      set_error(error, "cannot write", path, errno);
      return std::nullopt;
    }
    // From here the destructor of `pending` removes the temporary file.
    PendingFile pending(path, tmpl);
    auto fail = [&](int err) -> std::optional<PendingFile> {
      ::close(fd);
      set_error(error, "cannot write", path, err);
      return std::nullopt;
    };
    // mkostemp creates 0600; set the requested mode before any data lands.
    if (::fchmod(fd, static_cast<mode_t>(mode) & 07777) != 0) return fail(errno);
    if (!write_all(fd, data)) return fail(errno);
    if (::fsync(fd) != 0) return fail(errno);
    if (::close(fd) != 0) {
      set_error(error, "cannot write", path, errno);
      return std::nullopt;
    }
    return pending;
  } catch (...) {
    set_error(error, "cannot write", path, ENOMEM);
    return std::nullopt;
  }
}

bool PendingFile::commit(std::string* error) noexcept {
  if (temp_.empty()) {
    set_error(error, "cannot write", path_, EINVAL);
    return false;
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    set_error(error, "cannot write", path_, errno);
    return false;  // the destructor removes the temporary file
  }
  temp_.clear();
  try {
    sync_directory(directory_of(path_));
  } catch (...) {
  }
  return true;
}

bool write_file_atomic(const std::filesystem::path& path, std::string_view data, std::filesystem::perms mode,
                       std::string* error) noexcept {
  auto pending = PendingFile::write(path, data, mode, error);
  return pending && pending->commit(error);
}

std::optional<std::string> read_file(const std::filesystem::path& path, std::string* error) noexcept {
  try {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      set_error(error, "cannot read", path, errno);
      return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      set_error(error, "cannot read", path, EISDIR);
      return std::nullopt;
    }
    std::string out;
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        set_error(error, "cannot read", path, err);
        return std::nullopt;
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  } catch (...) {
    set_error(error, "cannot read", path, ENOMEM);
    return std::nullopt;
  }
}

std::optional<InputFile> InputFile::open(const std::filesystem::path& path, std::string* reason) noexcept {
  // O_NONBLOCK: opening a FIFO without a writer returns at once instead of
  // waiting; O_NOCTTY: a terminal never becomes ours.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    // A socket cannot be opened (ENXIO): say what it is.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      set_reason(reason, not_regular(st.st_mode));
    } else {
      set_reason(reason, std::strerror(err));
    }
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    set_reason(reason, std::strerror(err));
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    set_reason(reason, not_regular(st.st_mode));
    return std::nullopt;
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return InputFile(fd);
}

InputFile::InputFile(InputFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::size_t> InputFile::read(char* buffer, std::size_t size, std::string* reason) noexcept {
  for (;;) {
    ssize_t n = ::read(fd_, buffer, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    set_reason(reason, std::strerror(errno));
    return std::nullopt;
  }
}

std::optional<std::string> read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                                             std::string* reason) noexcept {
  try {
    auto file = InputFile::open(path, reason);
    if (!file) return std::nullopt;
    std::string out;
    char buf[65536];
    for (;;) {
      auto n = file->read(buf, sizeof buf, reason);
      if (!n) return std::nullopt;
      if (*n == 0) return out;
      // The file may grow while it is read: the limit is on what is read.
      if (*n > max_bytes - out.size()) {
        if (reason) *reason = "larger than " + format_size(max_bytes);
        return std::nullopt;
      }
      out.append(buf, *n);
    }
  } catch (...) {
    set_reason(reason, std::strerror(ENOMEM));
    return std::nullopt;
  }
}

std::string format_size(std::size_t bytes) {
  constexpr std::size_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  if (bytes >= kGiB && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + " GiB";
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

}  // namespace basalt::core
