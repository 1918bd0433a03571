#include "basalt/dns/wire/message_writer.hpp"

#include <cstring>

#include "basalt/dns/wire/rdata_layout.hpp"

namespace basalt::dns {
namespace {

void put16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xFFFF);
}

}  // namespace

MessageWriter::MessageWriter(std::span<std::uint8_t> buffer, std::size_t limit) noexcept
    : buf_(buffer), limit_(std::min({limit, buffer.size(), std::size_t{65535}})) {
  if (limit_ < Header::kSize) {
    // Too small for even a header: refuse everything; finish() writes nothing.
    limit_ = 0;
    size_ = 0;
    refuse_ = true;
  }
}

void MessageWriter::set_rcode(std::uint16_t rcode) noexcept {
  rcode_ = rcode & 0xFFF;
  header_.rcode = static_cast<std::uint8_t>(rcode_ & 15);
}

bool MessageWriter::suffix_equals(std::size_t offset, const std::uint8_t* wire, bool exact) const noexcept {
  const std::uint8_t* d = buf_.data();
  std::size_t i = 0;
  for (;;) {
    std::uint8_t len = d[offset];
    if ((len & 0xC0) == 0xC0) {
      offset = (static_cast<std::size_t>(len & 0x3F) << 8) | d[offset + 1];
      continue;
    }
    if (len != wire[i]) return false;
    if (len == 0) return true;
    if (exact) {
      if (std::memcmp(d + offset + 1, wire + i + 1, len) != 0) return false;
    } else {
      for (std::size_t k = 1; k <= len; ++k) {
        if (ascii_lower(d[offset + k]) != ascii_lower(wire[i + k])) return false;
      }
    }
    offset += 1u + len;
    i += 1u + len;
  }
}

// Returns the buffer offset of an earlier name equal to this suffix, or 0.
std::size_t MessageWriter::find_suffix(const std::uint8_t* wire, std::size_t wire_size,
                                       bool exact) const noexcept {
  for (std::size_t e = 0; e < entry_count_; ++e) {
    if (entries_[e].length == wire_size && suffix_equals(entries_[e].offset, wire, exact))
      return entries_[e].offset;
  }
  return 0;
}

bool MessageWriter::write_name(ByteSpan wire, bool compress, bool exact) noexcept {
  const std::uint8_t* w = wire.data();
  std::size_t pos = 0;
  while (w[pos] != 0) {
    std::size_t suffix_size = wire.size() - pos;
    if (compress) {
      if (std::size_t target = find_suffix(w + pos, suffix_size, exact)) {
        if (!room(pos + 2)) return false;
        std::memcpy(&buf_[size_], w, pos);
        std::size_t start = size_;
        size_ += pos;
        buf_[size_] = static_cast<std::uint8_t>(0xC0 | (target >> 8));
        buf_[size_ + 1] = static_cast<std::uint8_t>(target);
        size_ += 2;
        // Register the new labels written before the pointer.
        for (std::size_t p = 0; p < pos; p += 1u + w[p]) {
          if (entry_count_ < kMaxCompression && start + p < 0x4000)
            entries_[entry_count_++] = {static_cast<std::uint16_t>(start + p),
                                        static_cast<std::uint8_t>(wire.size() - p)};
        }
        return true;
      }
    }
    pos += 1u + w[pos];
  }
  if (!room(wire.size())) return false;
  std::memcpy(&buf_[size_], w, wire.size());
  for (std::size_t p = 0; w[p] != 0; p += 1u + w[p]) {
    if (entry_count_ < kMaxCompression && size_ + p < 0x4000)
      entries_[entry_count_++] = {static_cast<std::uint16_t>(size_ + p),
                                  static_cast<std::uint8_t>(wire.size() - p)};
  }
  size_ += wire.size();
  return true;
}

bool MessageWriter::add_question(const Name& name, RRType type, RRClass rclass) noexcept {
  if (refuse_ || section_ != -1) return false;
  Checkpoint cp = checkpoint();
  if (!write_name(name.wire(), true, false) || !room(4)) {
    rollback(cp);
    return false;
  }
  put16(&buf_[size_], static_cast<std::uint16_t>(type));
  put16(&buf_[size_ + 2], static_cast<std::uint16_t>(rclass));
  size_ += 4;
  ++counts_[0];
  return true;
}

bool MessageWriter::set_edns(std::uint16_t udp_payload_size, std::uint8_t version, bool dnssec_ok,
                             std::span<const EdnsOptionRef> options, std::uint16_t z) noexcept {
  if (opt_size_ || refuse_) return false;
  std::size_t need = 11;
  for (const auto& o : options) need += 4 + o.data.size();
  if (need > 0xFFFF || limit_ - size_ < need) return false;
  limit_ -= need;
  opt_size_ = need;
  std::uint8_t* p = &buf_[limit_];
  p[0] = 0;
  put16(p + 1, static_cast<std::uint16_t>(RRType::kOPT));
  put16(p + 3, udp_payload_size);
  put32(p + 5, (std::uint32_t{version} << 16) | (dnssec_ok ? 0x8000u : 0u) | (z & 0x7FFFu));
  put16(p + 9, need - 11);
  p += 11;
  for (const auto& o : options) {
    put16(p, o.code);
    put16(p + 2, o.data.size());
    if (!o.data.empty()) std::memcpy(p + 4, o.data.data(), o.data.size());
    p += 4 + o.data.size();
  }
  return true;
}

bool MessageWriter::set_edns(const Edns& edns) noexcept {
  std::array<EdnsOptionRef, 32> refs;
  if (edns.options.size() > refs.size()) return false;
  for (std::size_t i = 0; i < edns.options.size(); ++i)
    refs[i] = {edns.options[i].code, edns.options[i].data};
  if (!set_edns(edns.udp_payload_size, edns.version, edns.dnssec_ok,
                std::span<const EdnsOptionRef>(refs.data(), edns.options.size()), edns.z))
    return false;
  set_rcode(static_cast<std::uint16_t>((header_.rcode & 15) | (edns.extended_rcode << 4)));
  return true;
}

MessageWriter::Checkpoint MessageWriter::checkpoint() const noexcept {
  return {size_, entry_count_, counts_};
}

void MessageWriter::rollback(const Checkpoint& cp) noexcept {
  size_ = cp.size;
  entry_count_ = cp.compression_entries;
  counts_ = cp.counts;
}

void MessageWriter::set_truncated() noexcept {
  header_.tc = true;
  refuse_ = true;
}

bool MessageWriter::overflow(Section section, const Checkpoint& cp) noexcept {
  rollback(cp);
  if (section != Section::kAdditional) set_truncated();
  return false;
}

bool MessageWriter::add_record(Section section, const Name& owner, RRType type, RRClass rclass,
                               std::uint32_t ttl, ByteSpan rdata) noexcept {
  int s = static_cast<int>(section);
  if (refuse_ || s < section_ || rdata.size() > 0xFFFF) return false;
  section_ = s;
  Checkpoint cp = checkpoint();
  if (!write_name(owner.wire(), true, false) || !room(10)) return overflow(section, cp);
  std::uint8_t* fixed = &buf_[size_];
  put16(fixed, static_cast<std::uint16_t>(type));
  put16(fixed + 2, static_cast<std::uint16_t>(rclass));
  put32(fixed + 4, ttl);
  size_ += 10;
  const std::size_t rdata_start = size_;
  if (has_compressible_names(type)) {
    // Copy the octets between names verbatim; compress the names.
    std::size_t copied = 0;
    bool ok = true;
    for_each_rdata_name(type, rdata, [&](std::size_t offset, bool compressible) {
      if (offset > rdata.size()) {
        ok = false;
        return false;
      }
      std::size_t gap = offset - copied;
      if (!room(gap)) {
        ok = false;
        return false;
      }
      std::memcpy(&buf_[size_], rdata.data() + copied, gap);
      size_ += gap;
      std::size_t name_size = plain_name_length(rdata, offset);
      if (name_size == 0 || !write_name(rdata.subspan(offset, name_size), compressible, true)) {
        ok = false;
        return false;
      }
      copied = offset + name_size;
      return true;
    });
    if (!ok || !room(rdata.size() - copied)) return overflow(section, cp);
    std::memcpy(&buf_[size_], rdata.data() + copied, rdata.size() - copied);
    size_ += rdata.size() - copied;
  } else {
    if (!room(rdata.size())) return overflow(section, cp);
    if (!rdata.empty()) std::memcpy(&buf_[size_], rdata.data(), rdata.size());
    size_ += rdata.size();
  }
  put16(fixed + 8, size_ - rdata_start);
  ++counts_[1 + s];
  return true;
}

std::size_t MessageWriter::finish() noexcept {
  if (buf_.size() < Header::kSize || size_ == 0) return 0;
  if (opt_size_) {
    std::memmove(&buf_[size_], &buf_[limit_], opt_size_);
    buf_[size_ + 5] = static_cast<std::uint8_t>(rcode_ >> 4);  // extended RCODE (TTL's first octet)
    size_ += opt_size_;
    limit_ += opt_size_;
    opt_size_ = 0;
    ++counts_[3];
  }
  Header h = header_;
  h.rcode = static_cast<std::uint8_t>(header_.rcode & 15);
  h.qdcount = counts_[0];
  h.ancount = counts_[1];
  h.nscount = counts_[2];
  h.arcount = counts_[3];
  h.encode(buf_.data());
  refuse_ = true;
  return size_;
}

}  // namespace basalt::dns
