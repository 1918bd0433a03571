// Small file helpers for state a user depends on (keys, certificates) and
// for input read at start-up (configs, zone files).
//
// write_file_atomic() is how basalt persists DNSSEC keys, ACME accounts and
// certificates: readers see either the old file or the complete new one,
// never a torn write, and the file never exists with looser permissions than
// asked for. PendingFile is its two halves, for files that must appear in a
// chosen order (a key's .private before its .key). read_file() is the
// matching reader with a config-ready error. InputFile and
// read_regular_file() read input that must be a regular file: a FIFO, a
// device such as /dev/zero or a directory is refused rather than waited on
// or read without end.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::core {

// Writes `data` to a temporary file in the same directory (created with
// `mode`, 0600 by default), fsyncs it, renames it over `path` and fsyncs the
// directory. The directory must exist. On failure returns false, removes the
// temporary file, leaves any existing `path` untouched and sets `error` to
// e.g. `cannot write "/var/lib/x/key.pem": Permission denied`. Never throws.
// Concurrent writers to the same path are safe (last rename wins).
bool write_file_atomic(const std::filesystem::path& path, std::string_view data,
                       std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write,
                       std::string* error = nullptr) noexcept;

// A file written in full under a temporary name beside its path, put in
// place by commit(). write_file_atomic() is write() then commit(); callers
// that need several files to appear in a given order write them all first
// and then commit them in that order.
//
// The temporary file is `.<name>.tmp.XXXXXX` in the same directory
// (pending_file_prefix() gives `.<name>.tmp.`), created with `mode` before
// any data is written, and fsynced. Destroying an uncommitted PendingFile
// removes it; a process killed before commit() leaves it behind, which is how
// a later start recognises an interrupted write. Not thread-safe; move-only.
class PendingFile {
 public:
  // Errors read `cannot write "/x/key.pem": <reason>`; nothing is left behind.
  static std::optional<PendingFile> write(const std::filesystem::path& path, std::string_view data,
                                          std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                                        std::filesystem::perms::owner_write,
                                          std::string* error = nullptr) noexcept;
  PendingFile(PendingFile&& other) noexcept;
  PendingFile& operator=(PendingFile&& other) noexcept;
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile();

  // Renames the temporary file over the path and fsyncs the directory. On
  // failure returns false, removes the temporary file and sets `error`.
  bool commit(std::string* error = nullptr) noexcept;
  const std::filesystem::path& path() const noexcept { return path_; }
  const std::filesystem::path& temporary_path() const noexcept { return temp_; }

 private:
  PendingFile(std::filesystem::path path, std::filesystem::path temp);
  std::filesystem::path path_, temp_;
};

// The file name prefix of PendingFile's temporary files for `path`:
// `.key.pem.tmp.` for `/x/key.pem`.
std::string pending_file_prefix(const std::filesystem::path& path);

// Reads a whole file. On failure returns nullopt and sets `error` to e.g.
// `cannot read "/etc/x.pem": No such file or directory`. Never throws.
std::optional<std::string> read_file(const std::filesystem::path& path,
                                     std::string* error = nullptr) noexcept;

// A regular file open for reading, for readers that take it piece by piece.
// open() never blocks and refuses anything but a regular file (after
// symlinks): a FIFO would wait for a writer, a device such as /dev/zero never
// ends. Errors are the reason alone, for the caller to put after the file
// name in its own format: `No such file or directory`,
// `not a regular file (a FIFO)`. Move-only; not thread-safe.
class InputFile {
 public:
  static std::optional<InputFile> open(const std::filesystem::path& path,
                                       std::string* reason = nullptr) noexcept;
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  // Reads up to `size` bytes into `buffer`: the number read, 0 at the end of
  // the file, nullopt on an error (with `reason`).
  std::optional<std::size_t> read(char* buffer, std::size_t size, std::string* reason = nullptr) noexcept;

 private:
  explicit InputFile(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

// Reads a whole regular file (InputFile's rules) of at most `max_bytes`.
// Errors are the reason alone, as InputFile's, or `larger than 16 MiB`.
// Never throws.
std::optional<std::string> read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                                             std::string* reason = nullptr) noexcept;

// `16 MiB`, `64 KiB`, `1000 bytes`: a size limit for messages.
std::string format_size(std::size_t bytes);

}  // namespace basalt::core
