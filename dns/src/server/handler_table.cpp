#include "basalt/dns/server/handler_table.hpp"

#include <algorithm>

namespace basalt::dns {

std::string_view to_string(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kHttps:
      return "https";
    case Transport::kManual:
      return "manual";
  }
  return "unknown";
}

std::string_view match_subject(const Name& name, std::span<char> buffer) noexcept {
  auto wire = name.wire();
  std::size_t out = 0, pos = 0;
  while (pos < wire.size() && wire[pos] != 0) {
    std::size_t len = wire[pos];
    if (out != 0) buffer[out++] = '.';
    for (std::size_t i = 0; i < len && out < buffer.size(); ++i)
      buffer[out++] = static_cast<char>(wire[pos + 1 + i]);
    pos += 1 + len;
  }
  return {buffer.data(), out};
}

bool HandlerTable::match(std::string_view subject, RRType type, std::vector<const HandlerEntry*>& out) const {
  bool any = false;
  for (const auto& e : entries_) {
    if (!e->glob.match(subject)) continue;
    any = true;
    if (e->answers(type)) out.push_back(e.get());
  }
  return any;
}

bool HandlerTable::remove(HandlerId id) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e->id == id; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

}  // namespace basalt::dns
