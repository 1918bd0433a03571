// Steering a UDP SO_REUSEPORT group by the client's network: every datagram
// from one source network goes to the same socket of the group (one worker),
// chosen by a classic BPF program the kernel runs before queueing
// (SO_ATTACH_REUSEPORT_CBPF).
//
// The kernel's own choice hashes addresses and ports, so a flood from one
// host spreads over every socket and fills every receive queue; legitimate
// queries from elsewhere are then dropped in the kernel alongside it, before
// any rate limiting can see them. Steered by network, the flood fills the
// queue of one socket and the other networks' queries land in the others:
// a single source network costs at most one worker. The price: one
// network's traffic, however legitimate, is served by one worker.
//
// Which socket: the network (the source address masked to `prefix_v4` /
// `prefix_v6` bits), folded to 32 bits, its bits mixed down
// (x ^= x >> 16; x ^= x >> 8) and taken modulo the group's size — so
// neighbouring networks land on different sockets.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <span>

namespace basalt::core {

// Attaches the program to `group` (the sockets of one open_udp_per_worker()
// call, in that order). Throws std::system_error if the kernel refuses it.
void steer_by_source_network(std::span<boost::asio::ip::udp::socket> group, int prefix_v4 = 24,
                             int prefix_v6 = 56);

}  // namespace basalt::core
