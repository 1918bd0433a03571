// Serves DNS over one UDP socket on one worker thread: batches of datagrams
// read with recvmmsg and answered with sendmmsg, no allocation per packet;
// queries that wait for coroutine handlers continue in their own coroutine
// without holding up the batch.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <memory>

#include "server/worker.hpp"

namespace basalt::dns {

class UdpListener {
 public:
  UdpListener(boost::asio::ip::udp::socket socket, Worker& worker, std::size_t max_payload);
  ~UdpListener();
  void start();
  void close();  // from the socket's worker thread

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace basalt::dns
