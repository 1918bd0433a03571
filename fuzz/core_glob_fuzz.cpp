// Fuzzes Glob::compile + match: input is "pattern\0subject" (no NUL: the
// whole input is the pattern and also the subject), first byte = options.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "basalt/core/glob.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const basalt::core::GlobOptions options{.case_insensitive = (data[0] & 1) != 0, .dot = (data[0] & 2) != 0};
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view pattern = in, subject = in;
  if (auto nul = in.find('\0'); nul != std::string_view::npos) {
    pattern = in.substr(0, nul);
    subject = in.substr(nul + 1);
  }
  if (pattern.size() > 4096) return 0;
  if (auto g = basalt::core::Glob::compile(pattern, options)) {
    (void)g->match(subject);
    (void)g->match(pattern);
  }
  return 0;
}
