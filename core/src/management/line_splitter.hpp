// Splits a byte stream into '\n'-terminated lines with a length limit, for the
// management protocol readers. A line longer than the limit is reported once
// and discarded up to its newline, so one bad line never costs the connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace basalt::core::management {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  // Calls on_line(std::string_view) for each complete line (without the
  // '\n') and on_overlong() once for each line over the limit.
  template <class OnLine, class OnOverlong>
  void feed(std::string_view data, OnLine&& on_line, OnOverlong&& on_overlong) {
    while (!data.empty()) {
      auto nl = data.find('\n');
      auto chunk = data.substr(0, nl);
      if (!discarding_) {
        if (buffer_.size() + chunk.size() > max_) {
          buffer_.clear();
          discarding_ = true;
          on_overlong();
        } else {
          buffer_.append(chunk);
        }
      }
      if (nl == std::string_view::npos) return;
      if (!discarding_) on_line(std::string_view(buffer_));
      buffer_.clear();
      discarding_ = false;
      data.remove_prefix(nl + 1);
    }
  }

  // Bytes of an unfinished line held so far.
  std::size_t pending() const { return buffer_.size(); }

 private:
  std::size_t max_;
  std::string buffer_;
  bool discarding_ = false;
};

}  // namespace basalt::core::management
