#include "udp/udp_session_table.hpp"

#include <netinet/in.h>

#include <cstring>
#include <random>

namespace basalt::proxy {

namespace {

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

UdpSessionKey UdpSessionKey::of(std::uint32_t listener, const sockaddr_storage& source) noexcept {
  UdpSessionKey k;
  k.listener = listener;
  k.family = static_cast<std::uint8_t>(source.ss_family);
  if (source.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(source);
    k.port = ntohs(v4.sin_port);
    std::memcpy(k.address.data(), &v4.sin_addr, 4);
  } else if (source.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(source);
    k.port = ntohs(v6.sin6_port);
    std::memcpy(k.address.data(), &v6.sin6_addr, 16);
  }
  return k;
}

std::size_t UdpSessionTable::Hash::operator()(const UdpSessionKey& key) const noexcept {
  std::uint64_t a = 0, b = 0;
  std::memcpy(&a, key.address.data(), 8);
  std::memcpy(&b, key.address.data() + 8, 8);
  const std::uint64_t head =
      (std::uint64_t{key.listener} << 32) | (std::uint64_t{key.port} << 16) | key.family;
  return static_cast<std::size_t>(mix(mix(mix(seed ^ head) ^ a) ^ b));
}

UdpSessionTable::UdpSessionTable(std::size_t capacity)
    : capacity_(capacity),
      sessions_(16, Hash{std::random_device{}() * 0x9e3779b97f4a7c15ULL ^ std::random_device{}()}) {}

bool UdpSessionTable::insert(std::shared_ptr<UdpSession> session) {
  if (sessions_.size() >= capacity_) return false;
  const auto key = session->key;
  return sessions_.emplace(key, std::move(session)).second;
}

std::shared_ptr<UdpSession> UdpSessionTable::erase(const UdpSessionKey& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  auto s = std::move(it->second);
  sessions_.erase(it);
  return s;
}

std::vector<std::shared_ptr<UdpSession>> UdpSessionTable::sweep(
    const std::function<bool(const UdpSession&)>& expired) {
  std::vector<std::shared_ptr<UdpSession>> out;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (expired(*it->second)) {
      out.push_back(std::move(it->second));
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::shared_ptr<UdpSession>> UdpSessionTable::take_all() {
  std::vector<std::shared_ptr<UdpSession>> out;
  out.reserve(sessions_.size());
  for (auto& [key, s] : sessions_) out.push_back(std::move(s));
  sessions_.clear();
  return out;
}

}  // namespace basalt::proxy
