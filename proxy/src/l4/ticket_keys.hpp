// Session-ticket keys shared by every TLS context the proxy terminates with,
// rotated on a schedule, so clients resume sessions across workers and across
// route updates (a route update builds new contexts; the keys stay).
//
// A new key is made every `rotation` (default 1 hour); tickets are issued
// with the newest and accepted while their key is among the `keep` newest
// (default 3: a ticket resumes for 2-3 hours). A ticket under an older key
// resumes and is reissued under the newest. Keys live in memory only: a
// restart makes every ticket a full handshake, which is the safe default
// (no key material on disk). Ticket encryption is AES-256-CBC with
// HMAC-SHA256, as OpenSSL's own.
//
// Thread-safety: the callback runs on any worker; a mutex guards the list
// (one short lock per handshake that issues or reads a ticket).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

struct ssl_ctx_st;

namespace basalt::proxy {

class TicketKeys {
 public:
  explicit TicketKeys(std::chrono::seconds rotation = std::chrono::hours(1), std::size_t keep = 3);

  // Makes `ctx` issue and accept tickets under these keys. The object must
  // outlive the context (the proxy owns both).
  void install(ssl_ctx_st* ctx);

  struct Key {
    std::array<std::uint8_t, 16> name{};
    std::array<std::uint8_t, 32> aes{};
    std::array<std::uint8_t, 32> hmac{};
    std::chrono::steady_clock::time_point created{};
  };
  // For encryption: the newest key (rotating first if it is due).
  Key current(std::chrono::steady_clock::time_point now);
  // For decryption: the key with this name; `newest` says whether it is the
  // current one. False when no kept key has the name.
  bool find(const std::uint8_t* name, Key& out, bool& newest) const;

 private:
  std::chrono::seconds rotation_;
  std::size_t keep_;
  mutable std::mutex mutex_;
  std::vector<Key> keys_;  // newest first
};

}  // namespace basalt::proxy
