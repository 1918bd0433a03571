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

std::string pattern_suffix(std::string_view pattern) {
  auto meta = pattern.find_last_of("*?[]{}\\!");
  std::string_view suffix = meta == std::string_view::npos ? pattern : pattern.substr(meta + 1);
  if (meta != std::string_view::npos) {
    auto dot = suffix.find('.');
    suffix = dot == std::string_view::npos ? std::string_view{} : suffix.substr(dot + 1);
  }
  return std::string(suffix);
}

void HandlerTable::add(std::shared_ptr<const HandlerEntry> e) {
  auto suffix = pattern_suffix(e->glob.pattern());
  suffixes_.push_back(suffix.empty() ? std::nullopt : Name::from_text(suffix));
  entries_.push_back(std::move(e));
}

bool HandlerTable::has_names_at_or_below(const Name& name) const noexcept {
  for (const auto& s : suffixes_) {
    if (s && s->is_subdomain_of(name)) return true;
  }
  return false;
}

bool HandlerTable::remove(HandlerId id) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e->id == id; });
  if (it == entries_.end()) return false;
  suffixes_.erase(suffixes_.begin() + (it - entries_.begin()));
  entries_.erase(it);
  return true;
}

}  // namespace basalt::dns
