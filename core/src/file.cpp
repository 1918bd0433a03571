#include "basalt/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

}  // namespace

bool write_file_atomic(const std::filesystem::path& path, std::string_view data, std::filesystem::perms mode,
                       std::string* error) noexcept {
  try {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) {
      set_error(error, "cannot write", path, errno);
      return false;
    }
    auto fail = [&](int err) {
      ::close(fd);
      ::unlink(tmpl.c_str());
      set_error(error, "cannot write", path, err);
      return false;
    };
    // mkostemp creates 0600; set the requested mode before any data lands.
    if (::fchmod(fd, static_cast<mode_t>(mode) & 07777) != 0) return fail(errno);
    if (!write_all(fd, data)) return fail(errno);
    if (::fsync(fd) != 0) return fail(errno);
    if (::close(fd) != 0) {
      int err = errno;
      ::unlink(tmpl.c_str());
      set_error(error, "cannot write", path, err);
      return false;
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmpl.c_str());
      set_error(error, "cannot write", path, err);
      return false;
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return true;
  } catch (...) {
    set_error(error, "cannot write", path, ENOMEM);
    return false;
  }
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

}  // namespace basalt::core
