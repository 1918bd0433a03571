#include "l4/client_hello.hpp"

#include <algorithm>
#include <bitset>
#include <string_view>

namespace basalt::proxy {
namespace {

constexpr std::uint8_t kRecordHandshake = 22;
constexpr std::uint8_t kHandshakeClientHello = 1;
constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint16_t kExtSupportedVersions = 43;
constexpr std::size_t kMaxHostName = 253;
constexpr std::size_t kMaxLabel = 63;

// Bounds-checked reads from a view; every read fails once one has failed.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> data) : data_(data) {}

  bool ok() const noexcept { return ok_; }
  bool empty() const noexcept { return data_.empty(); }
  std::size_t size() const noexcept { return data_.size(); }

  std::uint8_t u8() noexcept {
    if (!need(1)) return 0;
    std::uint8_t v = data_[0];
    data_ = data_.subspan(1);
    return v;
  }
  std::uint16_t u16() noexcept {
    if (!need(2)) return 0;
    std::uint16_t v = static_cast<std::uint16_t>((data_[0] << 8) | data_[1]);
    data_ = data_.subspan(2);
    return v;
  }
  std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
    if (!need(n)) return {};
    auto v = data_.first(n);
    data_ = data_.subspan(n);
    return v;
  }
  // A vector with a `prefix`-byte length.
  std::span<const std::uint8_t> vec8() noexcept { return bytes(u8()); }
  std::span<const std::uint8_t> vec16() noexcept { return bytes(u16()); }

 private:
  bool need(std::size_t n) noexcept {
    if (!ok_ || data_.size() < n) {
      ok_ = false;
      data_ = {};
      return false;
    }
    return true;
  }

  std::span<const std::uint8_t> data_;
  bool ok_ = true;
};

bool host_char(std::uint8_t c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// A plausible DNS name: 1..253 bytes after one trailing dot is removed,
// letters, digits, '-', '_' and '.', no empty label, labels <= 63 bytes.
bool read_host_name(std::span<const std::uint8_t> raw, std::string& out) {
  if (!raw.empty() && raw.back() == '.') raw = raw.first(raw.size() - 1);
  if (raw.empty() || raw.size() > kMaxHostName) return false;
  std::size_t label = 0;
  for (std::uint8_t c : raw) {
    if (!host_char(c)) return false;
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > kMaxLabel) {
      return false;
    }
  }
  if (label == 0) return false;
  out.resize(raw.size());
  std::transform(raw.begin(), raw.end(), out.begin(),
                 [](std::uint8_t c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return true;
}

// RFC 6066 §3. Name types other than host_name are skipped (all defined so
// far carry a 16-bit length); a second host_name is malformed.
bool read_server_name(std::span<const std::uint8_t> ext, ClientHello& hello) {
  Cursor c(ext);
  Cursor list(c.vec16());
  if (!c.ok() || !c.empty() || list.empty()) return false;
  bool seen = false;
  while (!list.empty()) {
    std::uint8_t type = list.u8();
    auto name = list.vec16();
    if (!list.ok()) return false;
    if (type != 0) continue;
    if (seen || !read_host_name(name, hello.server_name)) return false;
    seen = true;
  }
  return true;
}

// RFC 7301 §3.1: a non-empty list of non-empty names.
bool read_alpn(std::span<const std::uint8_t> ext, ClientHello& hello) {
  Cursor c(ext);
  Cursor list(c.vec16());
  if (!c.ok() || !c.empty() || list.empty()) return false;
  while (!list.empty()) {
    auto name = list.vec8();
    if (!list.ok() || name.empty()) return false;
    hello.alpn.emplace_back(reinterpret_cast<const char*>(name.data()), name.size());
  }
  return true;
}

// RFC 8446 §4.2.1: versions<2..254>.
bool read_supported_versions(std::span<const std::uint8_t> ext, ClientHello& hello) {
  Cursor c(ext);
  Cursor list(c.vec8());
  if (!c.ok() || !c.empty() || list.size() < 2 || list.size() % 2 != 0) return false;
  while (!list.empty()) {
    std::uint16_t version = list.u16();
    if (version == 0x0304) hello.offers_tls13 = true;
    if (version == 0x0303) hello.offers_tls12 = true;
  }
  return true;
}

}  // namespace

ClientHelloReader::Result ClientHelloReader::finish(Result result) noexcept {
  result_ = result;
  if (result != Result::kDone) hello_ = {};
  // The message is no longer needed; give its memory back.
  std::vector<std::uint8_t>().swap(message_);
  return result;
}

ClientHelloReader::Result ClientHelloReader::feed(std::span<const std::uint8_t> bytes) {
  if (result_ != Result::kNeedMore) return result_;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (record_header_len_ < 5) {
      std::uint8_t b = bytes[pos++];
      ++consumed_;
      record_header_[record_header_len_++] = b;
      if (record_header_len_ == 1 && b != kRecordHandshake) {
        return finish(first_record_ ? Result::kNotTls : Result::kMalformed);
      }
      if (record_header_len_ == 2 && b != 3)
        return finish(first_record_ ? Result::kNotTls : Result::kMalformed);
      if (record_header_len_ == 3 && (b < 1 || b > 3)) return finish(Result::kMalformed);
      if (record_header_len_ == 5) {
        record_left_ = static_cast<std::size_t>(record_header_[3] << 8 | record_header_[4]);
        if (record_left_ == 0 || record_left_ > kMaxRecordBytes) return finish(Result::kMalformed);
        first_record_ = false;
      }
      continue;
    }

    // In a record body: first the 4-byte handshake header, then the message.
    if (message_header_len_ < 4) {
      std::uint8_t b = bytes[pos++];
      ++consumed_;
      --record_left_;
      message_header_[message_header_len_++] = b;
      if (message_header_len_ == 1 && b != kHandshakeClientHello) return finish(Result::kMalformed);
      if (message_header_len_ == 4) {
        message_len_ = static_cast<std::size_t>(message_header_[1]) << 16 |
                       static_cast<std::size_t>(message_header_[2]) << 8 | message_header_[3];
        if (message_len_ > kMaxHelloBytes) return finish(Result::kTooLarge);
        message_.reserve(message_len_);
      }
    } else {
      std::size_t take = std::min({record_left_, bytes.size() - pos, message_len_ - message_.size()});
      message_.insert(message_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                      bytes.begin() + static_cast<std::ptrdiff_t>(pos + take));
      pos += take;
      consumed_ += take;
      record_left_ -= take;
    }

    if (message_header_len_ == 4 && message_.size() == message_len_) {
      // The hello is complete; it must end its record.
      if (record_left_ != 0) return finish(Result::kMalformed);
      return finish(parse() ? Result::kDone : Result::kMalformed);
    }
    if (record_left_ == 0) record_header_len_ = 0;
  }
  return result_;
}

bool ClientHelloReader::parse() noexcept try {
  ClientHello hello;
  Cursor c(message_);
  std::uint16_t legacy_version = c.u16();
  c.bytes(32);  // random
  auto session_id = c.vec8();
  auto cipher_suites = c.vec16();
  auto compression = c.vec8();
  if (!c.ok() || session_id.size() > 32 || cipher_suites.size() < 2 || cipher_suites.size() % 2 != 0 ||
      compression.empty()) {
    return false;
  }

  bool has_supported_versions = false;
  if (!c.empty()) {
    Cursor extensions(c.vec16());
    if (!c.ok() || !c.empty()) return false;  // trailing bytes after the extensions
    std::bitset<65536> seen;
    while (!extensions.empty()) {
      std::uint16_t type = extensions.u16();
      auto data = extensions.vec16();
      if (!extensions.ok() || seen.test(type)) return false;
      seen.set(type);
      bool ok = true;
      switch (type) {
        case kExtServerName:
          ok = read_server_name(data, hello);
          break;
        case kExtAlpn:
          ok = read_alpn(data, hello);
          break;
        case kExtSupportedVersions:
          has_supported_versions = true;
          ok = read_supported_versions(data, hello);
          break;
        default:
          break;
      }
      if (!ok) return false;
    }
  }
  if (!has_supported_versions && legacy_version >= 0x0303) hello.offers_tls12 = true;
  hello_ = std::move(hello);
  return true;
} catch (...) {
  // Only std::bad_alloc can get here (names and ALPN strings).
  return false;
}

}  // namespace basalt::proxy
