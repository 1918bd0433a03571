#include "server/udp_listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <vector>

namespace basalt::dns {
namespace asio = boost::asio;
using asio::ip::udp;

namespace {
constexpr std::size_t kBatch = 32;
constexpr std::size_t kMaxQuery = 4096;  // a larger datagram is no query we answer
}  // namespace

struct UdpListener::State : std::enable_shared_from_this<UdpListener::State> {
  State(udp::socket s, Worker& w, std::size_t payload)
      : socket(std::move(s)), worker(w), max_payload(payload) {
    in.resize(kBatch * kMaxQuery);
    out.resize(kBatch * max_payload);
    for (std::size_t i = 0; i < kBatch; ++i) {
      in_iov[i] = {in.data() + i * kMaxQuery, kMaxQuery};
      in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
      in_msgs[i].msg_hdr.msg_iovlen = 1;
      in_msgs[i].msg_hdr.msg_name = &peers[i];
    }
  }

  asio::awaitable<void> serve() {
    auto self = shared_from_this();
    const int fd = socket.native_handle();
    for (;;) {
      auto [ec] = co_await socket.async_wait(udp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
      if (ec || !socket.is_open()) co_return;
      // Drain what is queued, a batch at a time, then wait again.
      for (int round = 0; round < 64; ++round) {
        for (std::size_t i = 0; i < kBatch; ++i) {
          in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
          in_msgs[i].msg_hdr.msg_flags = 0;
        }
        int n = ::recvmmsg(fd, in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        std::size_t replies = 0;
        for (int i = 0; i < n; ++i) handle(static_cast<std::size_t>(i), replies);
        send_batch(fd, replies);
        if (static_cast<std::size_t>(n) < kBatch) break;
      }
    }
  }

  void handle(std::size_t i, std::size_t& replies) {
    auto& msg = in_msgs[i];
    if (msg.msg_hdr.msg_flags & MSG_TRUNC) {  // over kMaxQuery: not a query
      Counters::bump(worker.counters().dropped);
      return;
    }
    std::span<const std::uint8_t> query(in.data() + i * kMaxQuery, msg.msg_len);
    std::span<std::uint8_t> reply(out.data() + replies * max_payload, max_payload);
    state.reset(Transport::kUdp, core::Endpoint::from_sockaddr(peers[i]));
    std::size_t size = 0;
    switch (worker.answer(query, state, reply, size)) {
      case Worker::Result::kAnswered:
        out_iov[replies] = {reply.data(), size};
        out_msgs[replies].msg_hdr = {};
        out_msgs[replies].msg_hdr.msg_iov = &out_iov[replies];
        out_msgs[replies].msg_hdr.msg_iovlen = 1;
        out_msgs[replies].msg_hdr.msg_name = &peers[i];
        out_msgs[replies].msg_hdr.msg_namelen = msg.msg_hdr.msg_namelen;
        ++replies;
        return;
      case Worker::Result::kDropped:
      case Worker::Result::kTransfer:  // (not over UDP: answered NOTIMP)
        return;
      case Worker::Result::kAsync:
        asio::co_spawn(socket.get_executor(),
                       answer_later(std::move(state), peers[i], msg.msg_hdr.msg_namelen), asio::detached);
        state = QueryState{};
        return;
    }
  }

  void send_batch(int fd, std::size_t count) {
    std::size_t sent = 0;
    while (sent < count) {
      int r = ::sendmmsg(fd, out_msgs.data() + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        // Send buffer full or the peer's address is unreachable: drop this
        // one answer (the client retries), keep the rest.
        Counters::bump(worker.counters().dropped);
        ++sent;
        continue;
      }
      sent += static_cast<std::size_t>(r);
    }
  }

  asio::awaitable<void> answer_later(QueryState p, sockaddr_storage peer, socklen_t peer_len) {
    auto self = shared_from_this();
    std::vector<std::uint8_t> buf(max_payload);
    std::size_t size = co_await worker.answer_async(p, buf);
    if (size == 0 || !socket.is_open()) co_return;  // (0: dropped by rate limiting)
    ::sendto(socket.native_handle(), buf.data(), size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer),
             peer_len);
  }

  udp::socket socket;
  Worker& worker;
  std::size_t max_payload;
  std::vector<std::uint8_t> in, out;
  std::array<iovec, kBatch> in_iov{}, out_iov{};
  std::array<mmsghdr, kBatch> in_msgs{}, out_msgs{};
  std::array<sockaddr_storage, kBatch> peers{};
  QueryState state;  // reused: keeps its vectors' capacity
};

UdpListener::UdpListener(udp::socket socket, Worker& worker, std::size_t max_payload)
    : state_(std::make_shared<State>(std::move(socket), worker, max_payload)) {}

UdpListener::~UdpListener() = default;

void UdpListener::start() {
  asio::co_spawn(state_->socket.get_executor(), state_->serve(), asio::detached);
}

void UdpListener::close() {
  boost::system::error_code ignored;
  state_->socket.close(ignored);
}

}  // namespace basalt::dns
