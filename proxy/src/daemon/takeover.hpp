// Socket takeover between two `basalt-proxy serve` processes (docs/proxy.md,
// "Reloads, takeover and drain"): a restart or binary upgrade in which no
// connection is refused.
//
// TakeoverServer is the running process's side: it listens on the takeover
// socket and, for one successor at a time, hands over duplicates of every
// listening socket; when the successor says it accepts on all of them, it
// gives up the takeover socket's path, runs the daemon's `handover` (stop
// accepting, release the management socket, drain) and from then on sends
// the successor its count of open connections every second, until it exits.
// A successor that asks (`close`: a newer generation has taken over from
// it) makes it close at once.
//
// Predecessor is the new process's side: connect() receives the sockets,
// drain() tells the old process to stop accepting once this one accepts,
// then a thread follows the old process's drain; close_now() is how a
// third generation's handover keeps at most one process draining.
//
// Protocol (version 1; JSON lines, see takeover_channel.hpp):
//   new -> old  {"v":1,"op":"hello","pid":N}
//   old -> new  {"v":1,"op":"sockets","count":k} + k descriptors   (k <= 64, repeated)
//               {"v":1,"op":"ready","pid":N,"sockets":total}
//   new -> old  {"v":1,"op":"drain"}                  (after it accepts on every socket)
//   old -> new  {"v":1,"op":"draining","connections":n}   (the paths are free now)
//               {"v":1,"op":"status","connections":n}     (every second, until it exits: EOF)
//   new -> old  {"v":1,"op":"close"}                  (any time after draining: close at once)
//   either      {"v":1,"op":"error","error":"..."}    (then the connection closes)
// A successor that goes away before `drain` changes nothing: the old process
// keeps serving. Bounds: one takeover at a time (a second client gets an
// error), 5 s for the hello, 60 s from `ready` to `drain`.
//
// Thread-safety: each class runs one thread of its own; the public members
// may be called from any other thread. Hooks run on the takeover thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "basalt/core/unique_fd.hpp"
#include "daemon/takeover_channel.hpp"

namespace basalt::proxy {

class TakeoverServer {
 public:
  struct Hooks {
    // Duplicates of the listening sockets; empty: nothing to hand over (the
    // process drains), the successor is refused.
    std::function<std::vector<core::UniqueFd>()> sockets;
    // The successor (pid) accepts on every socket: stop accepting, release
    // what it must bind (management socket), begin the drain. Returns once
    // this process no longer accepts.
    std::function<void(pid_t successor)> handover;
    // Connections still open (for the successor's statistics).
    std::function<std::size_t()> open_connections;
    // The successor was taken over in turn: close every connection now.
    std::function<void()> close_now;
  };

  // Listens on `path` (mode 0600; its folder is created, 0700, when
  // missing). A stale socket file is replaced; one another process listens
  // on is an error, as is anything else at the path. Throws
  // std::system_error naming the path.
  TakeoverServer(std::string path, Hooks hooks);
  // Stops the thread (a successor sees the connection close) and removes the
  // socket file if this process still owns it.
  ~TakeoverServer();
  TakeoverServer(const TakeoverServer&) = delete;
  TakeoverServer& operator=(const TakeoverServer&) = delete;

  // Stops listening and removes the socket file (a draining process has
  // nothing to hand over). Returns once done (at most 2 s).
  void stop_listening();

  const std::string& path() const noexcept { return path_; }

 private:
  struct Session;
  void run();
  void accept_client();
  void serve(Session& session);
  void handle(Session& session, const TakeoverMessage& message);
  void close_listener();
  void wake();

  std::string path_;
  Hooks hooks_;
  core::UniqueFd listener_;
  core::UniqueFd wake_;  // eventfd
  std::unique_ptr<Session> session_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_listening_ = false;  // under mutex_
  bool listening_ = true;        // under mutex_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class Predecessor {
 public:
  // Connects to the running proxy at `path` and receives its listening
  // sockets. nullptr when nothing listens there (no file, or a stale one):
  // the caller starts on fresh sockets. Throws TakeoverError when the
  // running proxy refuses or breaks the protocol, std::system_error on
  // other socket errors.
  static std::unique_ptr<Predecessor> connect(const std::string& path);
  ~Predecessor();
  Predecessor(const Predecessor&) = delete;
  Predecessor& operator=(const Predecessor&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // The handed-over sockets (once).
  std::vector<core::UniqueFd> take_sockets() { return std::move(sockets_); }

  // Tells the old process to stop accepting and drain (call once this one
  // accepts on every socket). Returns once it has and has given up its
  // takeover and management socket paths: its open connections. Then
  // follows its drain on a thread of its own. Throws TakeoverError.
  std::size_t drain();
  // Tells it to close every connection at once; true when it has gone
  // within `timeout`.
  bool close_now(std::chrono::milliseconds timeout);
  // Its open connections while it drains; nullopt once it has exited.
  std::optional<std::size_t> draining_connections() const;

 private:
  Predecessor(std::unique_ptr<TakeoverChannel> channel, pid_t pid, std::vector<core::UniqueFd> sockets);
  void follow();

  std::unique_ptr<TakeoverChannel> channel_;
  pid_t pid_ = 0;
  std::vector<core::UniqueFd> sockets_;
  core::UniqueFd wake_;
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::condition_variable gone_changed_;
  bool gone_ = false;  // under mutex_
  std::thread thread_;
};

}  // namespace basalt::proxy
