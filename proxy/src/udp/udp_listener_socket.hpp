// One listening UDP socket of one worker: a (port, bind address) of a UDP
// route, opened with SO_REUSEPORT so that the kernel spreads clients over
// the workers (by their address and port, so a client stays on one worker
// and its session there). Shared by the worker's read loop and by the
// sessions that answer through it.
//
// Worker thread only, except id()/port(), fixed at construction.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <cstdint>

namespace basalt::proxy {

class UdpListenerSocket {
 public:
  UdpListenerSocket(boost::asio::ip::udp::socket socket, std::uint32_t id, std::uint16_t port)
      : socket_(std::move(socket)), id_(id), port_(port) {}

  boost::asio::ip::udp::socket& socket() noexcept { return socket_; }
  int fd() noexcept { return socket_.native_handle(); }
  std::uint32_t id() const noexcept { return id_; }
  std::uint16_t port() const noexcept { return port_; }

  // Drain: no more reading (the successor, which shares the socket, reads
  // it); answers of open sessions still leave through it.
  bool reading = true;

 private:
  boost::asio::ip::udp::socket socket_;
  std::uint32_t id_;
  std::uint16_t port_;
};

}  // namespace basalt::proxy
