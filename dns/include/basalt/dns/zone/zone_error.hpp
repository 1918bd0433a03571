// The error thrown when a zone file cannot be loaded: it names the file and
// line and says what was wrong, e.g.
//   `example.com.zone:12: MX: exchange: empty label`,
// or only the file when no line is to blame (line() is 0):
//   `example.com.zone: no SOA record at the zone apex example.com.`.
//
// Zone loading is control plane (startup, reload, management commands), so
// it reports failure by exception; the data plane never sees this type.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace basalt::dns {

class ZoneError : public std::runtime_error {
 public:
  ZoneError(std::string file, std::size_t line, std::string message)
      : std::runtime_error(file + (line ? ":" + std::to_string(line) : std::string()) + ": " + message),
        file_(std::move(file)),
        line_(line),
        message_(std::move(message)) {}

  const std::string& file() const noexcept { return file_; }
  std::size_t line() const noexcept { return line_; }
  // What was wrong, without the location.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string message_;
};

}  // namespace basalt::dns
