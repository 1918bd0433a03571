// A blocking client of the management protocol over a Unix socket, for
// command-line tools that ask a running daemon to do something
// (`basalt-dns cert --management-socket PATH`).
//
//   management::Client c("/run/basalt-dns.sock");       // waits for `ready`
//   auto result = c.call("retrieveCertificate", params,
//                        [](const boost::json::value& chunk) { print(chunk); });
//
// One call at a time. Events from the daemon are skipped. Failures throw
// std::runtime_error: `cannot connect to "/x.sock": No such file or
// directory`, `the daemon closed the connection`, a timeout, or the
// daemon's own error text for `{"success": false}`. Not thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace basalt::core::management {

class Client {
 public:
  // Connects and waits up to `timeout` for the daemon's `ready` event.
  explicit Client(const std::string& socket_path,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and returns its `result`; each stream chunk's `data`
  // goes to `on_chunk` as it arrives. Throws on `{"success": false}` with the
  // daemon's error, and when nothing completes within `timeout`.
  boost::json::value call(const std::string& method, const boost::json::object& params,
                          const std::function<void(const boost::json::value&)>& on_chunk = {},
                          std::chrono::milliseconds timeout = std::chrono::minutes(10));

 private:
  // The next line, waiting until `deadline`.
  std::string read_line(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  unsigned next_id_ = 1;
};

}  // namespace basalt::core::management
