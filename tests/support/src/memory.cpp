#include "basalt/testing/memory.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <string>

namespace basalt::testing {

long resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  ADD_FAILURE() << "no VmRSS for pid " << pid;
  return 0;
}

void expect_growth_below(long before, long after, long limit_kib) {
  if (kAddressSanitizer) {
    std::cout << "resident memory not checked under AddressSanitizer (grew from " << before << " KiB to "
              << after << " KiB)\n";
    return;
  }
  EXPECT_LT(after - before, limit_kib)
      << "resident memory grew from " << before << " KiB to " << after << " KiB";
}

}  // namespace basalt::testing
