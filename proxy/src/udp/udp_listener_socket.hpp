// One listening UDP socket of one worker: a (port, bind address) of a UDP
// route, opened with SO_REUSEPORT so that the kernel spreads clients over
// the workers (by their address and port, so a client stays on one worker
// and its session there). Shared by the worker's read loop and by the
// sessions that answer through it.
//
// Worker thread only, except id()/port(), fixed at construction.
#pragma once

#include <unistd.h>

#include <boost/asio/ip/udp.hpp>

#include <cstdint>

namespace basalt::proxy {

class UdpListenerSocket {
 public:
  UdpListenerSocket(boost::asio::ip::udp::socket socket, std::uint32_t id, std::uint16_t port)
      : socket_(std::move(socket)), fd_(socket_.native_handle()), id_(id), port_(port) {}
  ~UdpListenerSocket() {
    if (released_ && fd_ >= 0) ::close(fd_);
  }
  UdpListenerSocket(const UdpListenerSocket&) = delete;
  UdpListenerSocket& operator=(const UdpListenerSocket&) = delete;

  boost::asio::ip::udp::socket& socket() noexcept { return socket_; }
  // The descriptor answers are sent on (-1 once closed).
  int fd() const noexcept { return fd_; }
  std::uint32_t id() const noexcept { return id_; }
  std::uint16_t port() const noexcept { return port_; }
  bool reading() const noexcept { return !released_ && fd_ >= 0; }

  // Drain: no more reading (a successor, which shares the socket, reads
  // it); answers of open sessions still leave through it. The socket
  // leaves this worker's epoll set (a pending wait ends with
  // operation_aborted), so datagrams for the successor wake nothing here.
  void stop_reading() noexcept {
    if (released_ || fd_ < 0) return;
    boost::system::error_code ignored;
    fd_ = socket_.release(ignored);
    released_ = true;
  }
  void close() noexcept {
    if (released_) {
      if (fd_ >= 0) ::close(fd_);
    } else {
      boost::system::error_code ignored;
      socket_.close(ignored);
    }
    fd_ = -1;
  }

 private:
  boost::asio::ip::udp::socket socket_;
  int fd_;
  bool released_ = false;
  std::uint32_t id_;
  std::uint16_t port_;
};

}  // namespace basalt::proxy
