// What a test may say about another process's memory: its resident size
// (VmRSS), and whether growth can be judged at all. Under AddressSanitizer
// freed memory stays resident (quarantine, redzones), so a growth bound
// says nothing there: expect_growth_below() prints the figures instead.
#pragma once

#include <sys/types.h>

namespace basalt::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// Resident memory of process `pid`, in KiB; a test failure and 0 if unknown.
long resident_kib(pid_t pid);

// Expects `after - before` (KiB) below `limit_kib`, naming both; under
// AddressSanitizer prints them and checks nothing.
void expect_growth_below(long before, long after, long limit_kib);

}  // namespace basalt::testing
