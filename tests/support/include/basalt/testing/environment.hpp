// What integration tests need from their surroundings: our built binaries,
// peer tools, temporary directories and free loopback ports.
//
// BASALT_REQUIRE_TOOL("kdig") skips the test with the reason printed when a
// peer tool is missing — except under CI=true, where a missing tool means
// scripts/setup is incomplete, so the test fails.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace basalt::testing {

bool in_ci();
// nullopt if `tool` is on PATH, else the reason it is missing.
std::optional<std::string> missing_tool(const std::string& tool);
// Path of one of our executables (in BASALT_BIN_DIR, set by ctest).
std::string binary(const std::string& name);
std::string source_dir();

// A fresh directory removed with its contents at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A port that was free on every address for both TCP and UDP a moment ago,
// picked at random below the kernel's ephemeral range so that outgoing
// connections and port-0 binds never take it in the meantime, and claimed
// for the life of the process so that no other test process picks it.
std::uint16_t free_port();

}  // namespace basalt::testing

#define BASALT_REQUIRE_TOOL(tool)                                                  \
  do {                                                                             \
    if (auto basalt_missing_ = ::basalt::testing::missing_tool(tool)) {            \
      if (::basalt::testing::in_ci())                                              \
        FAIL() << *basalt_missing_ << " (CI=true: scripts/setup must install it)"; \
      GTEST_SKIP() << *basalt_missing_;                                            \
    }                                                                              \
  } while (0)
