#include "basalt/dns/wire/message_view.hpp"

namespace basalt::dns {
namespace {

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Skips a name known to be valid.
std::size_t skip_valid_name(const std::uint8_t* d, std::size_t pos) noexcept {
  for (;;) {
    std::uint8_t len = d[pos];
    if (len == 0) return pos + 1;
    if ((len & 0xC0) == 0xC0) return pos + 2;
    pos += 1u + len;
  }
}

}  // namespace

void RecordIterator::load() noexcept {
  const std::uint8_t* d = msg_.data();
  std::size_t p = skip_valid_name(d, pos_);
  current_.owner = NameView(msg_, pos_);
  current_.type = static_cast<RRType>(get16(d + p));
  current_.rclass = static_cast<RRClass>(get16(d + p + 2));
  current_.ttl = get32(d + p + 4);
  std::size_t len = get16(d + p + 8);
  current_.rdata_offset = p + 10;
  current_.rdata = msg_.subspan(p + 10, len);
  current_.message = msg_;
}

WireError MessageView::parse(ByteSpan message) noexcept {
  *this = MessageView();
  if (message.size() < Header::kSize) return WireError::kTruncated;
  header_ = Header::decode(message.data());
  const std::uint8_t* d = message.data();
  std::size_t pos = Header::kSize;
  for (unsigned i = 0; i < header_.qdcount; ++i) {
    std::size_t next;
    WireError e = decode_name(message, pos, nullptr, &next);
    if (e != WireError::kOk) return e;
    if (message.size() - next < 4) return WireError::kTruncated;
    pos = next + 4;
  }
  const unsigned counts[3] = {header_.ancount, header_.nscount, header_.arcount};
  std::size_t starts[3] = {};
  std::size_t opt = 0;
  bool tsig = false;
  for (int s = 0; s < 3; ++s) {
    starts[s] = pos;
    for (unsigned i = 0; i < counts[s]; ++i) {
      if (tsig) return WireError::kBadTsig;
      std::size_t owner = pos, next;
      WireError e = decode_name(message, pos, nullptr, &next);
      if (e != WireError::kOk) return e;
      if (message.size() - next < 10) return WireError::kTruncated;
      auto type = static_cast<RRType>(get16(d + next));
      std::size_t rdlen = get16(d + next + 8);
      std::size_t rdata = next + 10;
      if (message.size() - rdata < rdlen) return WireError::kTruncated;
      if (type == RRType::kOPT) {
        if (s != 2 || d[owner] != 0) return WireError::kBadOpt;
        if (opt) return WireError::kDuplicateOpt;
        bool ok =
            for_each_edns_option(message.subspan(rdata, rdlen), [](std::uint16_t, ByteSpan) { return true; });
        if (!ok) return WireError::kBadOpt;
        opt = next;
      } else if (type == RRType::kTSIG) {
        if (s != 2 || i + 1 != counts[s]) return WireError::kBadTsig;
        tsig = true;
      } else {
        e = read_rdata(type, message, rdata, rdlen, nullptr);
        if (e != WireError::kOk) return e;
      }
      pos = rdata + rdlen;
    }
  }
  if (pos != message.size()) return WireError::kTrailingData;
  msg_ = message;
  an_ = starts[0];
  ns_ = starts[1];
  ar_ = starts[2];
  opt_offset_ = opt;
  has_tsig_ = tsig;
  return WireError::kOk;
}

std::size_t MessageView::skip_name(std::size_t pos) const noexcept {
  return skip_valid_name(msg_.data(), pos);
}

QuestionView MessageView::question_at(std::size_t pos) const noexcept {
  std::size_t p = skip_name(pos);
  return {NameView(msg_, pos), static_cast<RRType>(get16(&msg_[p])),
          static_cast<RRClass>(get16(&msg_[p + 2]))};
}

RecordRange MessageView::section(Section s) const noexcept {
  switch (s) {
    case Section::kAnswer:
      return answers();
    case Section::kAuthority:
      return authority();
    case Section::kAdditional:
      break;
  }
  return additional();
}

OptView MessageView::edns() const noexcept {
  const std::uint8_t* p = msg_.data() + opt_offset_;
  OptView v;
  v.udp_payload_size = get16(p + 2);
  std::uint32_t ttl = get32(p + 4);
  v.extended_rcode = static_cast<std::uint8_t>(ttl >> 24);
  v.version = static_cast<std::uint8_t>(ttl >> 16);
  v.dnssec_ok = ttl & 0x8000u;
  v.z = static_cast<std::uint16_t>(ttl & 0x7FFFu);
  v.options = msg_.subspan(opt_offset_ + 10, get16(p + 8));
  return v;
}

std::uint16_t MessageView::rcode() const noexcept {
  std::uint16_t r = header_.rcode;
  if (has_edns()) r = static_cast<std::uint16_t>(r | (edns().extended_rcode << 4));
  return r;
}

std::optional<ByteSpan> OptView::find(EdnsOptionCode code) const noexcept {
  std::optional<ByteSpan> found;
  for_each_edns_option(options, [&](std::uint16_t c, ByteSpan data) {
    if (c != static_cast<std::uint16_t>(code)) return true;
    found = data;
    return false;
  });
  return found;
}

std::optional<Cookie> OptView::cookie(bool* malformed) const noexcept {
  if (malformed) *malformed = false;
  auto data = find(EdnsOptionCode::kCookie);
  if (!data) return std::nullopt;
  auto c = Cookie::parse(*data);
  if (!c && malformed) *malformed = true;
  return c;
}

Edns OptView::to_edns() const {
  Edns e;
  e.udp_payload_size = udp_payload_size;
  e.extended_rcode = extended_rcode;
  e.version = version;
  e.dnssec_ok = dnssec_ok;
  e.z = z;
  for_each_edns_option(options, [&](std::uint16_t code, ByteSpan data) {
    e.options.push_back({code, Bytes(data.begin(), data.end())});
    return true;
  });
  return e;
}

}  // namespace basalt::dns
