// A random-subdomain flood for bench/dns-rrl/run.sh: UDP queries for a new
// random name under ZONE each time, sent as fast as the socket takes them
// (sendmmsg, 64 at a time, from 4 sockets bound to SOURCE), never waiting for
// answers; the answers that come back are counted (complete and truncated).
// Unlike dnsperf, a dropped answer costs the flood nothing, as for an
// attacker.
//
//   basalt-bench-dns-flood PORT SOURCE ZONE SECONDS [QPS]
//
// QPS (default 0: as fast as possible) paces the flood below full speed.
//
// Prints one line: sent=N sent_qps=N answers=N truncated=N
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kSockets = 4;
constexpr unsigned kBatch = 64;

// A query for "<16 hex digits>.<zone>" A, with RD clear, into `out`.
std::size_t write_query(std::uint8_t* out, std::uint16_t id, std::uint64_t label,
                        const std::vector<std::uint8_t>& zone_wire) {
  std::uint8_t* p = out;
  *p++ = static_cast<std::uint8_t>(id >> 8);
  *p++ = static_cast<std::uint8_t>(id);
  for (int i = 0; i < 10; ++i) *p++ = i == 3 ? 1 : 0;  // flags 0, QDCOUNT 1
  *p++ = 16;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) *p++ = static_cast<std::uint8_t>(hex[(label >> (4 * i)) & 15]);
  for (auto b : zone_wire) *p++ = b;
  *p++ = 0;
  *p++ = 1;  // A
  *p++ = 0;
  *p++ = 1;  // IN
  return static_cast<std::size_t>(p - out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: %s PORT SOURCE ZONE SECONDS [QPS]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string source = argv[2], zone = argv[3];
  const double seconds = std::atof(argv[4]);
  const double qps = argc == 6 ? std::atof(argv[5]) : 0;
  std::vector<std::uint8_t> zone_wire;
  std::size_t start = 0;
  while (start < zone.size()) {
    auto dot = zone.find('.', start);
    if (dot == std::string::npos) dot = zone.size();
    zone_wire.push_back(static_cast<std::uint8_t>(dot - start));
    zone_wire.insert(zone_wire.end(), zone.begin() + static_cast<long>(start),
                     zone.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  zone_wire.push_back(0);

  std::array<int, kSockets> fds{};
  for (auto& fd : fds) {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &src.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      std::perror("flood: socket");
      return 1;
    }
  }

  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::uint8_t> out(kBatch * 512), in(kBatch * 512);
  std::array<iovec, kBatch> out_iov{}, in_iov{};
  std::array<mmsghdr, kBatch> out_msgs{}, in_msgs{};
  for (unsigned i = 0; i < kBatch; ++i) {
    in_iov[i] = {in.data() + i * 512, 512};
    in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
    in_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::uint64_t sent = 0, answers = 0, truncated = 0;
  std::uint16_t id = 0;
  const auto begin = std::chrono::steady_clock::now();
  const auto deadline = begin + std::chrono::duration<double>(seconds);
  for (unsigned round = 0;; ++round) {
    if ((round & 15) == 0 && std::chrono::steady_clock::now() >= deadline) break;
    if (qps > 0) {  // ahead of the pace: wait
      auto ahead = begin + std::chrono::duration<double>(static_cast<double>(sent) / qps) -
                   std::chrono::steady_clock::now();
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(ahead).count();
      if (us > 0) ::usleep(static_cast<useconds_t>(us));
    }
    int fd = fds[round % kSockets];
    for (unsigned i = 0; i < kBatch; ++i) {
      auto size = write_query(out.data() + i * 512, id++, rng(), zone_wire);
      out_iov[i] = {out.data() + i * 512, size};
      out_msgs[i].msg_hdr = {};
      out_msgs[i].msg_hdr.msg_iov = &out_iov[i];
      out_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::sendmmsg(fd, out_msgs.data(), kBatch, 0);
    if (n > 0) sent += static_cast<unsigned>(n);
    if (n < static_cast<int>(kBatch)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1);
    }
    for (int s = 0; s < kSockets; ++s) {
      int r = ::recvmmsg(fds[s], in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      for (int i = 0; i < r; ++i) {
        ++answers;
        if (in_msgs[i].msg_len > 3 && (in[i * 512 + 2] & 0x02)) ++truncated;
      }
    }
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::printf("sent=%llu sent_qps=%.0f answers=%llu truncated=%llu\n", static_cast<unsigned long long>(sent),
              static_cast<double>(sent) / elapsed, static_cast<unsigned long long>(answers),
              static_cast<unsigned long long>(truncated));
  for (int fd : fds) ::close(fd);
  return 0;
}
