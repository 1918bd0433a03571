#include "server/invalid_record_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

namespace basalt::dns {
namespace {

// Routes the default logger into a string for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::size_t lines() const {
    auto text = out_.str();
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(InvalidRecordLog, LogsEachDistinctRecordOnceAndAtMostABoundedNumber) {
  CapturedLog log;
  InvalidRecordLog invalid;
  for (auto owner : {"bad.example.com.", "BAD.Example.com.", "bad.example.com."}) {
    invalid.report("the handlers of *.example.com", owner, "A", "data: 'x' is not an IPv4 address");
  }
  EXPECT_EQ(log.lines(), 1u) << log.text();
  EXPECT_NE(
      log.text().find("bad.example.com. A from the handlers of *.example.com: data: 'x' is not an IPv4"),
      std::string::npos)
      << log.text();
  invalid.report("the handlers of *.example.com", "bad.example.com.", "AAAA",
                 "data: 'x' is not an IPv6 address");
  EXPECT_EQ(log.lines(), 2u);

  // A handler that returns bad data for every name it is asked about.
  for (std::size_t i = 0; i < 2 * InvalidRecordLog::kMaxLogged; ++i) {
    invalid.report("the handlers of *.example.com", "n" + std::to_string(i) + ".example.com.", "A", "bad");
  }
  EXPECT_EQ(log.lines(), InvalidRecordLog::kMaxLogged + 1) << "the limit, then one note";
  EXPECT_EQ(invalid.count(), 4 + 2 * InvalidRecordLog::kMaxLogged);
}

}  // namespace
}  // namespace basalt::dns
