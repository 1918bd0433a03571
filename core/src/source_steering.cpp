#include "basalt/core/source_steering.hpp"

#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <system_error>
#include <vector>

namespace basalt::core {
namespace {

sock_filter statement(std::uint16_t code, std::uint32_t k) {
  return sock_filter{code, 0, 0, k};
}

// The mask of `prefix` bits within the 32-bit word that starts at bit `start`.
std::uint32_t word_mask(int prefix, int start) {
  const int bits = prefix - start;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffffu;
  return ~(0xffffffffu >> bits);
}

}  // namespace

void steer_by_source_network(std::span<boost::asio::ip::udp::socket> group, int prefix_v4, int prefix_v6) {
  if (group.size() < 2) return;  // nothing to choose
  const bool v6 = group.front().local_endpoint().address().is_v6();
  // The source address starts at octet 12 (IPv4) or 8 (IPv6) of the network header.
  const int words = v6 ? 4 : 1;
  const int prefix = v6 ? prefix_v6 : prefix_v4;
  const std::uint32_t offset = v6 ? 8 : 12;
  std::vector<sock_filter> program;
  for (int i = 0; i < words; ++i) {
    const std::uint32_t mask = word_mask(prefix, 32 * i);
    if (i > 0 && mask == 0) break;
    if (i > 0) program.push_back(statement(BPF_MISC | BPF_TAX, 0));  // X = the fold so far
    program.push_back(
        statement(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF) + offset + 4 * i));
    program.push_back(statement(BPF_ALU | BPF_AND | BPF_K, mask));
    if (i > 0) program.push_back(statement(BPF_ALU | BPF_XOR | BPF_X, 0));
  }
  for (std::uint32_t shift : {16u, 8u}) {
    program.push_back(statement(BPF_MISC | BPF_TAX, 0));
    program.push_back(statement(BPF_ALU | BPF_RSH | BPF_K, shift));
    program.push_back(statement(BPF_ALU | BPF_XOR | BPF_X, 0));
  }
  program.push_back(statement(BPF_ALU | BPF_MOD | BPF_K, static_cast<std::uint32_t>(group.size())));
  program.push_back(statement(BPF_RET | BPF_A, 0));
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  // One socket of the group carries the program for all of them.
  if (::setsockopt(group.front().native_handle(), SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog,
                   sizeof fprog) != 0) {
    throw std::system_error(errno, std::system_category(), "SO_ATTACH_REUSEPORT_CBPF");
  }
}

}  // namespace basalt::core
