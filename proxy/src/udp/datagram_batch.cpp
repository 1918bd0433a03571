#include "udp/datagram_batch.hpp"

#include <cerrno>
#include <cstring>

namespace basalt::proxy {

namespace {

// Fills `control` with the pktinfo of `local`; returns its length (0: none).
std::size_t pktinfo_message(unsigned char* control, std::size_t room, const LocalAddress& local) noexcept {
  if (local.family == 0) return 0;
  msghdr h{};
  h.msg_control = control;
  h.msg_controllen = room;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (local.family == AF_INET) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst = local.v4.ipi_addr;  // the source of the answer: the address the client sent to
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    return CMSG_SPACE(sizeof(in_pktinfo));
  }
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  std::memcpy(CMSG_DATA(c), &local.v6, sizeof local.v6);
  return CMSG_SPACE(sizeof(in6_pktinfo));
}

}  // namespace

bool enable_local_address(int fd, int family) noexcept {
  int on = 1;
  if (family == AF_INET) return ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0;
  return ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0;
}

bool send_datagram(int fd, std::span<const std::byte> data, const sockaddr_storage& peer, socklen_t peer_len,
                   const LocalAddress& local) noexcept {
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(in6_pktinfo))];
  iovec iov{const_cast<std::byte*>(data.data()), data.size()};
  msghdr h{};
  h.msg_name = const_cast<sockaddr_storage*>(&peer);
  h.msg_namelen = peer_len;
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  if (auto n = pktinfo_message(control, sizeof control, local)) {
    h.msg_control = control;
    h.msg_controllen = n;
  }
  for (;;) {
    if (::sendmsg(fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    if (errno != EINTR) return false;
  }
}

DatagramBatch::DatagramBatch() : buffer_(new std::byte[kSlots * kBufferSize]) {
  for (std::size_t i = 0; i < kSlots; ++i) iov_[i] = {slot(i), kBufferSize};
}

std::size_t DatagramBatch::receive(int fd, bool with_addresses) noexcept {
  for (std::size_t i = 0; i < kSlots; ++i) {
    auto& h = msgs_[i].msg_hdr;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_flags = 0;
    if (with_addresses) {
      h.msg_name = &sources_[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_control = control_[i].bytes.data();
      h.msg_controllen = kControl;
    } else {
      h.msg_name = nullptr;
      h.msg_namelen = 0;
      h.msg_control = nullptr;
      h.msg_controllen = 0;
    }
  }
  for (;;) {
    int n = ::recvmmsg(fd, msgs_.data(), kSlots, MSG_DONTWAIT, nullptr);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return 0;
  }
}

LocalAddress DatagramBatch::local(std::size_t i) const noexcept {
  LocalAddress out;
  msghdr h = msgs_[i].msg_hdr;
  if (!h.msg_control) return out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      out.family = AF_INET;
      std::memcpy(&out.v4, CMSG_DATA(c), sizeof out.v4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      out.family = AF_INET6;
      std::memcpy(&out.v6, CMSG_DATA(c), sizeof out.v6);
    }
  }
  return out;
}

std::size_t DatagramBatch::send_to(int fd, std::size_t first, std::size_t count, const sockaddr_storage& peer,
                                   socklen_t peer_len, const LocalAddress& local) noexcept {
  const std::size_t control = pktinfo_message(out_control_.bytes.data(), out_control_.bytes.size(), local);
  for (std::size_t k = 0; k < count; ++k) {
    auto& h = out_[k].msg_hdr;
    h = {};
    h.msg_name = const_cast<sockaddr_storage*>(&peer);
    h.msg_namelen = peer_len;
    h.msg_iov = &iov_[first + k];
    iov_[first + k].iov_len = msgs_[first + k].msg_len;
    h.msg_iovlen = 1;
    if (control) {
      h.msg_control = out_control_.bytes.data();
      h.msg_controllen = control;
    }
  }
  std::size_t sent = 0;
  while (sent < count) {
    int r =
        ::sendmmsg(fd, out_.data() + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // buffer full or unreachable: the rest is dropped
    }
    sent += static_cast<std::size_t>(r);
  }
  for (std::size_t k = 0; k < count; ++k) iov_[first + k].iov_len = kBufferSize;
  return sent;
}

}  // namespace basalt::proxy
