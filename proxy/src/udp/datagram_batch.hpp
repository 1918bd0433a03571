// A batch of datagrams for recvmmsg(2) / sendmmsg(2): kSlots buffers large
// enough for any UDP payload, their source addresses and, on a listening
// socket, the local address each datagram arrived at (IP_PKTINFO /
// IPV6_PKTINFO), so that an answer leaves a wildcard-bound socket from the
// address the client sent to (as nginx's stream proxy does).
//
//   DatagramBatch batch;                      // one per worker, reused
//   std::size_t n = batch.receive(fd, true);  // never blocks
//   for (i < n) use batch.data(i), batch.source(i), batch.local(i)
//
// Memory: kSlots x kBufferSize bytes allocated once; nothing per datagram.
// Not thread-safe: one per worker.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <memory>
#include <span>

namespace basalt::proxy {

// Where a datagram arrived: the destination address it carried.
struct LocalAddress {
  int family = 0;  // AF_INET, AF_INET6; 0: unknown (answers go without pktinfo)
  in_pktinfo v4{};
  in6_pktinfo v6{};
};

// Asks the kernel for each datagram's local address on `fd` (bound to an
// address of `family`). Returns false when the option is refused.
bool enable_local_address(int fd, int family) noexcept;

// Sends `data` to `peer` from `local` (if known) without blocking. False
// on failure, errno set (EAGAIN: the socket buffer is full).
bool send_datagram(int fd, std::span<const std::byte> data, const sockaddr_storage& peer, socklen_t peer_len,
                   const LocalAddress& local) noexcept;

class DatagramBatch {
 public:
  static constexpr std::size_t kSlots = 32;
  // Every UDP payload fits (65,507 bytes over IPv4, 65,527 over IPv6), so
  // the size a datagram had is always known (MSG_TRUNC never happens).
  static constexpr std::size_t kBufferSize = 65'536;

  DatagramBatch();
  DatagramBatch(const DatagramBatch&) = delete;
  DatagramBatch& operator=(const DatagramBatch&) = delete;

  // Receives what is queued on `fd`, up to kSlots datagrams, without
  // blocking. `with_addresses`: record sources and local addresses (a
  // listening socket; a connected backend socket needs neither). Returns
  // the count; 0 when nothing was queued or on an error (errno set).
  std::size_t receive(int fd, bool with_addresses) noexcept;

  std::span<std::byte> data(std::size_t i) noexcept { return {slot(i), msgs_[i].msg_len}; }
  std::size_t size(std::size_t i) const noexcept { return msgs_[i].msg_len; }
  const sockaddr_storage& source(std::size_t i) const noexcept { return sources_[i]; }
  socklen_t source_length(std::size_t i) const noexcept { return msgs_[i].msg_hdr.msg_namelen; }
  LocalAddress local(std::size_t i) const noexcept;

  // Sends datagrams [first, first + count) of this batch to one peer from
  // `local` with sendmmsg(2). Returns how many were sent; the rest were
  // dropped (socket buffer full, peer unreachable).
  std::size_t send_to(int fd, std::size_t first, std::size_t count, const sockaddr_storage& peer,
                      socklen_t peer_len, const LocalAddress& local) noexcept;

 private:
  std::byte* slot(std::size_t i) noexcept { return buffer_.get() + i * kBufferSize; }
  // Room for one IPv6 pktinfo control message (IPv4's is smaller).
  static constexpr std::size_t kControl = CMSG_SPACE(sizeof(in6_pktinfo));

  std::unique_ptr<std::byte[]> buffer_;
  std::array<iovec, kSlots> iov_{};
  std::array<mmsghdr, kSlots> msgs_{};
  std::array<sockaddr_storage, kSlots> sources_{};
  struct alignas(cmsghdr) Control {
    std::array<unsigned char, kControl> bytes;
  };
  std::array<Control, kSlots> control_{};
  std::array<mmsghdr, kSlots> out_{};
  Control out_control_{};
};

}  // namespace basalt::proxy
