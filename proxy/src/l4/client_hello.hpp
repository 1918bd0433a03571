// Reading a TLS ClientHello without decrypting anything: the SNI, the ALPN
// offer and the versions the client supports, from bytes as they arrive.
//
// A hello may come one byte per TCP segment and may be split over several
// TLS records (large post-quantum key shares make 2-16 KiB hellos). Feed
// every byte received, in order, to one ClientHelloReader; it reassembles
// the handshake message across records and says when it has the whole hello,
// when the bytes are not TLS at all, or when they are malformed TLS.
//
//   ClientHelloReader reader;
//   switch (reader.feed(bytes)) { case kNeedMore: read more; case kDone: use reader.hello(); ... }
//
// Decisions come as early as the bytes allow: a first byte other than 0x16
// (handshake record) is kNotTls after one byte, so an HTTP request or an SSH
// banner is recognised at once; 0x16 followed by a record version whose
// major byte is not 3 is kNotTls too. Anything after that which breaks the
// record layer (a record of another type, length 0 or above 16384 + 256,
// version outside 0x0301-0x0303) or the ClientHello itself (bad lengths,
// duplicate extensions, an implausible server name, trailing bytes) is
// kMalformed. The hello must end on a record boundary (RFC 8446 §5.1: the
// client's next flight may use new keys).
//
// The reader does not keep the raw bytes: a passthrough route keeps what it
// read itself and forwards it unchanged.
//
// Bounds: a hello longer than kMaxHelloBytes is kTooLarge as soon as its
// length is known. The reader never keeps more than the handshake message
// itself, and allocates once per hello (when the length is known), never per
// byte fed. Not thread-safe (one per connection); never throws (except
// std::bad_alloc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace basalt::proxy {

struct ClientHello {
  std::string server_name;        // SNI host_name, lowercased, no trailing dot; "" = none
  std::vector<std::string> alpn;  // the client's ALPN offer, in its order
  bool offers_tls12 = false;      // legacy_version or supported_versions say TLS 1.2
  bool offers_tls13 = false;      // supported_versions has 0x0304

  friend bool operator==(const ClientHello&, const ClientHello&) = default;
};

class ClientHelloReader {
 public:
  static constexpr std::size_t kMaxHelloBytes = 64 * 1024;
  // Largest record length accepted (TLSCiphertext bound; RFC 8446 §5.2).
  static constexpr std::size_t kMaxRecordBytes = 16384 + 256;

  enum class Result {
    kNeedMore,   // feed more bytes
    kDone,       // hello() is valid
    kNotTls,     // the first bytes are not a TLS handshake record
    kMalformed,  // TLS, but not a well-formed ClientHello
    kTooLarge,   // the hello is longer than kMaxHelloBytes
  };

  // Feeds the next bytes received. After a result other than kNeedMore,
  // further calls return the same result and consume nothing.
  Result feed(std::span<const std::uint8_t> bytes);
  // Valid after kDone; empty otherwise.
  const ClientHello& hello() const noexcept { return hello_; }
  // Bytes fed so far that the reader used. While kNeedMore, every byte fed.
  // After kDone: exactly the bytes of the records that carry the hello, up to
  // the end of the record that completed it. If the call that returned kDone
  // was given more bytes than that, the rest (total fed - consumed()) belong
  // to whatever the client sent next: the caller keeps or forwards them
  // itself. After kNotTls / kMalformed / kTooLarge: the bytes up to and
  // including the one that decided it.
  std::size_t consumed() const noexcept { return consumed_; }
  // The last result feed() returned (kNeedMore before any call).
  Result result() const noexcept { return result_; }

 private:
  Result finish(Result result) noexcept;
  bool parse() noexcept;

  ClientHello hello_;
  std::size_t consumed_ = 0;
  Result result_ = Result::kNeedMore;
  bool first_record_ = true;
  std::uint8_t record_header_[5] = {};
  std::size_t record_header_len_ = 0;  // 5: in a record body
  std::size_t record_left_ = 0;        // body bytes of the current record still to come
  std::uint8_t message_header_[4] = {};
  std::size_t message_header_len_ = 0;  // 4: the handshake length is known
  std::size_t message_len_ = 0;
  std::vector<std::uint8_t> message_;  // the handshake body (after the 4-byte header)
};

}  // namespace basalt::proxy
