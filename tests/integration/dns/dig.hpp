// Helpers for DNS integration tests: run dig/kdig against a loopback server
// and read their output.
#pragma once

#include <string>
#include <vector>

#include "basalt/testing/process.hpp"

namespace basalt::testing {

// Runs `dig @127.0.0.1 -p PORT <args> +time=2 +tries=1` and returns its output.
inline RunResult dig(std::uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv = {"dig", "@127.0.0.1", "-p", std::to_string(port), "+time=2", "+tries=1"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

inline RunResult kdig(std::uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv = {"kdig", "@127.0.0.1", "-p", std::to_string(port), "+time=2", "+retry=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Polls `dig +short NAME TYPE` until it prints `expected` (a server that is
// starting up), giving up when `server` exits or after `timeout`.
inline bool wait_for_answer(std::uint16_t port, const std::string& name, const std::string& type,
                            const std::string& expected, Process& server,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && server.running()) {
    if (dig(port, {name, type, "+short"}).out == expected + "\n") return true;
  }
  return false;
}

// The lines of `text` that are records (not comments or blank).
inline std::vector<std::string> record_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    auto line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line[0] != ';') {
      // Normalise dig's tabs to single spaces.
      std::string norm;
      for (char c : line) {
        if (c == '\t' || c == ' ') {
          if (!norm.empty() && norm.back() != ' ') norm += ' ';
        } else {
          norm += c;
        }
      }
      out.push_back(norm);
    }
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace basalt::testing
