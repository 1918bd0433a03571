// A non-owning view of a (possibly compressed) name inside a received
// message, as handed out by MessageView. Compare it with a Name without
// decoding or allocating; decode it into a Name (inline copy) when needed.
//
// Valid only while the message buffer lives, and only for names MessageView
// has validated. Methods are const and thread-safe; none allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "basalt/dns/wire/name.hpp"

namespace basalt::dns {

class NameView {
 public:
  NameView() = default;
  NameView(std::span<const std::uint8_t> message, std::size_t offset) noexcept
      : msg_(message.data()), size_(message.size()), offset_(offset) {}

  // Offset of the name's first octet in the message.
  std::size_t offset() const noexcept { return offset_; }

  // Decodes into an owned Name (inline storage, exact case kept).
  Name to_name() const noexcept {
    Name n;
    decode_name({msg_, size_}, offset_, &n, nullptr);
    return n;
  }
  std::string to_string() const { return to_name().to_string(); }

  // Case-insensitive equality with `name`, walking labels in place.
  bool equals(const Name& name) const noexcept {
    auto wire = name.wire();
    std::size_t pos = offset_, i = 0;
    for (;;) {
      if (pos >= size_) return false;
      std::uint8_t len = msg_[pos];
      if ((len & 0xC0) == 0xC0) {
        if (pos + 1 >= size_) return false;
        pos = (static_cast<std::size_t>(len & 0x3F) << 8) | msg_[pos + 1];
        continue;
      }
      if (i >= wire.size() || wire[i] != len || pos + 1 + len > size_) return false;
      if (len == 0) return true;
      for (std::size_t k = 1; k <= len; ++k) {
        if (ascii_lower(msg_[pos + k]) != ascii_lower(wire[i + k])) return false;
      }
      pos += 1 + len;
      i += 1 + len;
    }
  }

 private:
  const std::uint8_t* msg_ = nullptr;
  std::size_t size_ = 0;
  std::size_t offset_ = 0;
};

}  // namespace basalt::dns
