// A cross-process exclusive lock on a file in a certificate store, so that
// several processes sharing one store (two proxies on one host) order a
// certificate once: whoever takes the lock orders; the others find the
// result in the store afterwards.
//
//   if (auto lock = acme::StoreLock::try_acquire(cert_dir / "example.com" / ".lock")) {
//     ... order and save; the lock is released when `lock` goes ...
//   } else {
//     ... another process is ordering: look again later ...
//   }
//
// flock(2) semantics: the lock belongs to the open file description, so it
// is released when the StoreLock is destroyed, or when the process exits or
// crashes, and it is not inherited across exec (O_CLOEXEC). Only other
// flock users are excluded. The lock file stays on disk: removing it would
// let a process that has just opened the old file lock a file nobody else
// sees. A StoreLock is not thread-safe itself; separate objects are
// independent (and exclude each other).
#pragma once

#include <filesystem>
#include <optional>

namespace basalt::acme {

class StoreLock {
 public:
  // Takes the exclusive lock on `path` without waiting (flock
  // LOCK_EX|LOCK_NB on a file created 0600, parent directories created
  // 0700). nullopt when another holder has it (another process, or another
  // StoreLock in this process: each acquisition is its own open file
  // description). Throws std::runtime_error naming the path when the file
  // cannot be created or opened.
  static std::optional<StoreLock> try_acquire(const std::filesystem::path& path);

  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  // Releases the lock (closes the file).
  ~StoreLock();

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  StoreLock(int fd, std::filesystem::path path) noexcept : fd_(fd), path_(std::move(path)) {}
  void release() noexcept;

  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace basalt::acme
