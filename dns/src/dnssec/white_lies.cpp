#include "basalt/dns/dnssec/white_lies.hpp"

#include <algorithm>
#include <string>

#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

// `label` + "." + `parent`, or nullopt if it does not fit.
std::optional<Name> with_first_label(const std::string& label, const Name& parent) {
  return parent.prepend(label);
}

}  // namespace

std::optional<Name> white_lie_predecessor(const Name& name) {
  Name n = name.lowercased();
  if (n.is_root()) return std::nullopt;
  std::string label(n.label(0));
  Name parent = n.parent();
  auto& last = reinterpret_cast<unsigned char&>(label.back());
  if (last == 0) {
    // "x\000" follows "x" and its subtree: take "\255.x" (or "x" if too long).
    label.pop_back();
    if (label.empty()) return std::nullopt;
    auto x = with_first_label(label, parent);
    if (!x) return std::nullopt;
    if (auto below = x->prepend(std::string(1, '\xff'))) return below;
    return x;
  }
  --last;
  // Uppercase octets sort as their lowercase letters: step below them.
  if (last >= 'A' && last <= 'Z') last = '@';
  std::string longer = label + '\xff';
  if (label.size() < Name::kMaxLabelSize) {
    if (auto p = with_first_label(longer, parent)) return p;
  }
  return with_first_label(label, parent);
}

Name white_lie_successor(const Name& name) {
  Name n = name.lowercased();
  if (n.is_root()) return n;
  std::string label(n.label(0));
  Name parent = n.parent();
  if (label.size() < Name::kMaxLabelSize) {
    if (auto s = with_first_label(label + '\0', parent)) return *s;
  }
  // No room to grow: increment the last octet that can be, dropping the rest.
  while (!label.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(label.back());
    if (c != 0xff) {
      ++c;
      if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
      if (auto s = with_first_label(label, parent)) return *s;
    }
    label.pop_back();
  }
  return white_lie_child(n);
}

Name white_lie_child(const Name& name) {
  Name n = name.lowercased();
  if (auto c = n.prepend(std::string(1, '\0'))) return *c;
  return n;  // a 255-octet name has no children
}

Bytes nsec_rdata(const Name& next, std::vector<RRType> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  rdata::NSEC nsec;
  nsec.next = next;
  nsec.types.types = std::move(types);
  return nsec.encode();
}

}  // namespace basalt::dns
