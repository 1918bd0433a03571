// Small file helpers for state a user depends on (keys, certificates).
//
// write_file_atomic() is how basalt persists DNSSEC keys, ACME accounts and
// certificates: readers see either the old file or the complete new one,
// never a torn write, and the file never exists with looser permissions than
// asked for. read_file() is the matching reader with a config-ready error.
#pragma once

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

// Reads a whole file. On failure returns nullopt and sets `error` to e.g.
// `cannot read "/etc/x.pem": No such file or directory`. Never throws.
std::optional<std::string> read_file(const std::filesystem::path& path,
                                     std::string* error = nullptr) noexcept;

}  // namespace basalt::core
