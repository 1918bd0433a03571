#include "udp/datagram_batch.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace basalt::proxy {
namespace {

struct Socket {
  Socket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len);
  }
  ~Socket() { ::close(fd); }
  int fd = -1;
  sockaddr_storage address{};
};

std::string text(std::span<const std::byte> d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 2000) == 1;
}

TEST(DatagramBatch, ReceivesInBatchesWithSourcesAndLocalAddress) {
  Socket server, client;
  ASSERT_TRUE(enable_local_address(server.fd, AF_INET));
  DatagramBatch batch;
  EXPECT_EQ(batch.receive(server.fd, true), 0u) << "nothing queued: no wait";
  for (const std::string& m : {std::string("one"), std::string("two"), std::string(60'000, 'x')}) {
    ASSERT_EQ(::sendto(client.fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&server.address),
                       sizeof(sockaddr_in)),
              static_cast<ssize_t>(m.size()));
  }
  ASSERT_TRUE(readable(server.fd));
  std::size_t n = batch.receive(server.fd, true);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(text(batch.data(0)), "one");
  EXPECT_EQ(text(batch.data(1)), "two");
  EXPECT_EQ(batch.size(2), 60'000u);
  EXPECT_EQ(std::memcmp(&batch.source(0), &client.address, sizeof(sockaddr_in)), 0);
  auto local = batch.local(0);
  EXPECT_EQ(local.family, AF_INET);
  EXPECT_EQ(local.v4.ipi_addr.s_addr, htonl(INADDR_LOOPBACK));

  // Back to the client, from the address it sent to.
  EXPECT_EQ(batch.send_to(server.fd, 0, 2, batch.source(0), batch.source_length(0), local), 2u);
  char buf[16];
  ASSERT_TRUE(readable(client.fd));
  sockaddr_in from{};
  socklen_t len = sizeof from;
  auto got = ::recvfrom(client.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(got)), "one");
  EXPECT_EQ(std::memcmp(&from, &server.address, sizeof from), 0);
  ASSERT_TRUE(readable(client.fd));
  got = ::recv(client.fd, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(got)), "two");

  std::string single = "three";
  EXPECT_TRUE(
      send_datagram(server.fd, std::as_bytes(std::span(single)), client.address, sizeof(sockaddr_in), {}));
  ASSERT_TRUE(readable(client.fd));
  got = ::recv(client.fd, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(got)), "three");
}

}  // namespace
}  // namespace basalt::proxy
