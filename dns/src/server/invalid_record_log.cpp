#include "server/invalid_record_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace basalt::dns {

void InvalidRecordLog::report(std::string_view source, std::string_view owner, std::string_view type,
                              std::string_view reason) {
  count_.fetch_add(1, std::memory_order_relaxed);
  std::string key = fmt::format("{}\n{}\n{}\n{}", source, owner, type, reason);
  for (char& ch : key) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');  // owner names in any case are one
  }
  {
    std::lock_guard lock(mutex_);
    if (logged_.size() > kMaxLogged || !logged_.insert(std::move(key)).second) return;
    if (logged_.size() > kMaxLogged) {
      spdlog::warn("more than {} different invalid handler records: further ones are only counted",
                   kMaxLogged);
      return;
    }
  }
  spdlog::warn("handler record left out: {} {} from {}: {} (logged once, counted as invalidHandlerRecords)",
               owner, type, source, reason);
}

}  // namespace basalt::dns
