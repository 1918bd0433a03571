// Fuzzes the management protocol's line handling: arbitrary bytes from a
// driver, split into lines with a small limit and parsed as requests. Every
// request must be answerable (the answer line serialises and is one line).
#include "basalt/core/management/message.hpp"
#include "management/line_splitter.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace basalt::core::management;
  LineSplitter splitter(4096);
  auto check = [](std::string_view line) {
    auto parsed = parse_request(line);
    std::string answer;
    switch (parsed.kind) {
      case ParsedLine::Kind::blank:
        return;
      case ParsedLine::Kind::invalid:
        answer = failure_line(parsed.id, parsed.error);
        break;
      case ParsedLine::Kind::request:
        answer = success_line(parsed.request.id, parsed.request.params);
        break;
    }
    if (answer.empty() || answer.back() != '\n' || answer.find('\n') != answer.size() - 1) std::abort();
  };
  // Feed in two chunks to exercise lines split across reads.
  std::string_view all(reinterpret_cast<const char*>(data), size);
  auto half = size / 2;
  splitter.feed(all.substr(0, half), check, [] {});
  splitter.feed(all.substr(half), check, [] {});
  return 0;
}
