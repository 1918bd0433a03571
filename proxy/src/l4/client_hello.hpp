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
// Bounds: a hello longer than kMaxHelloBytes is kTooLarge. The reader never
// keeps more than the handshake message itself. Not thread-safe (one per
// connection); never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace basalt::proxy {

struct ClientHello {
  std::string server_name;          // SNI host_name, lowercased, no trailing dot; "" = none
  std::vector<std::string> alpn;    // the client's ALPN offer, in its order
  bool offers_tls12 = false;        // legacy_version or supported_versions say TLS 1.2
  bool offers_tls13 = false;        // supported_versions has 0x0304
};

class ClientHelloReader {
 public:
  static constexpr std::size_t kMaxHelloBytes = 64 * 1024;

  enum class Result {
    kNeedMore,   // feed more bytes
    kDone,       // hello() is valid
    kNotTls,     // the first bytes are not a TLS handshake record
    kMalformed,  // TLS, but not a well-formed ClientHello
    kTooLarge,   // the hello is longer than kMaxHelloBytes
  };

  // Feeds the next bytes received. After a result other than kNeedMore,
  // further calls return the same result.
  Result feed(std::span<const std::uint8_t> bytes);
  const ClientHello& hello() const noexcept { return hello_; }
  // Every byte fed so far (what a passthrough route forwards unchanged).
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  // implementation state
  ClientHello hello_;
  std::size_t consumed_ = 0;
};

}  // namespace basalt::proxy
