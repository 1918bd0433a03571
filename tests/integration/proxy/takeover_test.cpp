// basalt-proxy restarts through socket takeover (`serve --takeover`) under
// a client load that runs the whole time: new HTTP connections in a loop and
// a keep-alive HTTP client count refused connections and failed requests
// (none allowed); relayed TCP connections, an HTTP request in flight and a
// WebSocket (the npm `ws` echo server behind the proxy) opened before a
// restart keep working on the old process until its drain limit, then are
// closed and the old process exits. Also: a third generation makes the
// first close at once, `drain {graceMs}` by hand, SIGUSR2 starting a
// successor that names itself the main process to the service manager
// ($NOTIFY_SOCKET, played by the test). No process is left after a test.
#include <gmock/gmock.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "basalt/core/management/client.hpp"
#include "fixture.hpp"
#include "node_peers.hpp"

namespace basalt::proxy_test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

// ---- the service manager, played by the test --------------------------------

// A datagram socket at `path` standing in for systemd's notify socket; it
// asks for the sender's credentials so each state is known by its pid.
class ServiceManager {
 public:
  explicit ServiceManager(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  }
  ~ServiceManager() { ::close(fd_); }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // Waits for a datagram from `pid` that holds `state` (e.g. "READY=1");
  // every datagram received is kept for the failure message.
  bool wait_for(pid_t pid, const std::string& state, std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (const auto& [from, text] : seen_) {
        if (from == pid && text.find(state) != std::string::npos) return true;
      }
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
      char buf[512];
      union {
        char bytes[CMSG_SPACE(sizeof(ucred))];
        cmsghdr align;
      } control{};
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.bytes;
      msg.msg_controllen = sizeof control.bytes;
      ssize_t n = ::recvmsg(fd_, &msg, 0);
      if (n < 0) continue;
      pid_t from = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred;
          std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
          from = cred.pid;
        }
      }
      seen_.emplace_back(from, std::string(buf, static_cast<std::size_t>(n)));
    }
  }
  std::string seen() const {
    std::string out;
    for (const auto& [from, text] : seen_) out += std::to_string(from) + ": " + text + "\n";
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::pair<pid_t, std::string>> seen_;
};

// ---- generations of the proxy -------------------------------------------------

// One `basalt-proxy serve` on <dir>/proxy.yaml, sharing the management
// socket and the state dir (so the takeover socket) with the others; its log
// in <dir>/gen<N>.log.
class Generation {
 public:
  Generation(const TempDir& dir, int number, bool takeover, const ServiceManager& manager, int workers = 2)
      : number_(number), log_(dir.file("gen" + std::to_string(number) + ".log")) {
    std::string command = "exec " + testing::binary("basalt-proxy") + " serve --config " +
                          dir.file("proxy.yaml") + " --workers " + std::to_string(workers) + " --state-dir " +
                          dir.path() + " --management-socket " + dir.file("proxy.sock") +
                          " --log-level debug" + (takeover ? " --takeover" : "") + " 2>" + log_;
    process_.emplace(Process::Options{.argv = {"/bin/sh", "-c", command}, .env = {manager.env()}});
  }
  pid_t pid() const { return process_->pid(); }
  int number() const { return number_; }
  std::string log() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  bool running() { return process_->running(); }
  std::optional<int> wait(std::chrono::milliseconds timeout) { return process_->wait(timeout); }
  void signal(int signo) { process_->signal(signo); }

 private:
  int number_;
  std::string log_;
  std::optional<Process> process_;
};

boost::json::value call(const TempDir& dir, const std::string& method,
                        const boost::json::object& params = {}) {
  core::management::Client client(dir.file("proxy.sock"));
  return client.call(method, params, {}, 30s);
}

// ---- clients -------------------------------------------------------------------

// What the load saw: answers, refused connects, failed requests (with the
// first few failures described).
struct Counts {
  std::atomic<int> ok{0}, refused{0}, failed{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  void fail(std::atomic<int>& counter, std::string what) {
    ++counter;
    std::lock_guard lock(mutex);
    if (failures.size() < 10) failures.push_back(std::move(what));
  }
  std::string describe() {
    std::lock_guard lock(mutex);
    std::string out = std::to_string(ok) + " ok, " + std::to_string(refused) + " refused, " +
                      std::to_string(failed) + " failed";
    for (const auto& f : failures) out += "\n  " + f;
    return out;
  }
};

// One HTTP/1.1 response read from `fd` (`buffer` keeps what came after it):
// status, head and body (Content-Length or chunked). Nullopt when the
// connection ends (or times out) before a whole response.
struct Response {
  int status = 0;
  std::string head;
  std::string body;
  bool closes() const {
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find("\r\nconnection: close") != std::string::npos;
  }
};
std::optional<Response> read_response(int fd, std::string& buffer) {
  auto fill = [&](std::size_t want) {
    while (buffer.size() < want) {
      auto more = read_some_until(fd, 1, 10s);
      if (more.empty()) return false;
      buffer += more;
    }
    return true;
  };
  std::size_t end;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(buffer.size() + 1)) return std::nullopt;
  }
  Response r;
  r.head = buffer.substr(0, end + 4);
  buffer.erase(0, end + 4);
  if (!r.head.starts_with("HTTP/1.1 ")) return std::nullopt;
  r.status = std::atoi(r.head.c_str() + 9);
  std::string lower = r.head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    std::size_t length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
    if (!fill(length)) return std::nullopt;
    r.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return r;
  }
  if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    for (;;) {
      std::size_t line_end;
      while ((line_end = buffer.find("\r\n")) == std::string::npos) {
        if (!fill(buffer.size() + 1)) return std::nullopt;
      }
      std::size_t size = std::strtoul(buffer.c_str(), nullptr, 16);
      if (!fill(line_end + 2 + size + 2)) return std::nullopt;
      r.body += buffer.substr(line_end + 2, size);
      buffer.erase(0, line_end + 2 + size + 2);
      if (size == 0) return r;
    }
  }
  return std::nullopt;  // the backend's answers always carry a length
}

const std::string kRequest = "GET /name HTTP/1.1\r\nHost: web.test\r\n\r\n";

// A new connection per request (Connection: close), as fast as it goes.
void new_connections(std::uint16_t port, const std::atomic<bool>& stop, Counts& counts) {
  const std::string request = "GET /name HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n";
  while (!stop) {
    int fd = connect_to(port);
    if (fd < 0) {
      counts.fail(counts.refused, "new connection: connect failed");
      continue;
    }
    std::string buffer;
    auto r = send_all(fd, request) ? read_response(fd, buffer) : std::nullopt;
    ::close(fd);
    if (r && r->status == 200 && r->body == "backend a") {
      ++counts.ok;
    } else {
      counts.fail(counts.failed, "new connection: " + (r ? r->head.substr(0, 40) : "no answer"));
    }
  }
}

// HTTP/1.1 keep-alive, requests back to back; a new connection when the
// server says Connection: close. A connection that ends without answering a
// request sent on it is a failed request.
void keep_alive(std::uint16_t port, const std::atomic<bool>& stop, Counts& counts) {
  int fd = -1;
  std::string buffer;
  while (!stop) {
    if (fd < 0) {
      fd = connect_to(port);
      buffer.clear();
      if (fd < 0) {
        counts.fail(counts.refused, "keep-alive: connect failed");
        continue;
      }
    }
    auto r = send_all(fd, kRequest) ? read_response(fd, buffer) : std::nullopt;
    if (r && r->status == 200 && r->body == "backend a") {
      ++counts.ok;
    } else {
      counts.fail(counts.failed,
                  "keep-alive: " + (r ? r->head.substr(0, 40) : "the connection ended unanswered"));
    }
    if (!r || r->closes()) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) ::close(fd);
}

// Sends `text` on an echo connection and reads it back.
bool echoes(int fd, const std::string& text) {
  return send_all(fd, text) && read_some_until(fd, text.size(), 5s) == text;
}

// ---- the test fixture ------------------------------------------------------------

class ProxyTakeover : public ::testing::Test {
 protected:
  void SetUp() override {
    web_port_ = testing::free_port();
    relay_port_ = testing::free_port();
  }
  void write_config(const std::string& extra, std::uint16_t http_backend, std::uint16_t echo_backend) {
    std::ofstream(dir_.file("proxy.yaml"))
        << extra << "routes:\n"
        << "  - {name: web, match: {ports: " << web_port_
        << ", protocol: http}, action: {type: forward, targets: [{host: 127.0.0.1, port: " << http_backend
        << "}]}}\n"
        << "  - {name: relay, match: {ports: " << relay_port_
        << "}, action: {type: forward, targets: [{host: 127.0.0.1, port: " << echo_backend << "}]}}\n";
  }
  // Starts generation `number` and waits until it tells the service manager
  // it serves (with MAINPID= when it took over from a running one).
  Generation& start(int number, bool takeover, int workers = 2, bool takes_over = true) {
    generations_.push_back(std::make_unique<Generation>(dir_, number, takeover, manager_, workers));
    auto& g = *generations_.back();
    bool ready = takeover && takes_over
                     ? manager_.wait_for(g.pid(), "MAINPID=" + std::to_string(g.pid()) + "\nREADY=1")
                     : manager_.wait_for(g.pid(), "READY=1");
    EXPECT_TRUE(ready) << "generation " << number << " never became ready\n" << manager_.seen() << g.log();
    return g;
  }
  // After each test: every generation ends (the last by SIGTERM) and none is left.
  void TearDown() override {
    for (auto& g : generations_) {
      if (g->running()) g->signal(SIGTERM);
    }
    for (auto& g : generations_) {
      EXPECT_EQ(g->wait(30s), 0) << "generation " << g->number() << ":\n" << g->log();
      EXPECT_FALSE(g->running());
    }
  }

  TempDir dir_;
  ServiceManager manager_{dir_.file("notify.sock")};
  std::uint16_t web_port_ = 0, relay_port_ = 0;
  std::vector<std::unique_ptr<Generation>> generations_;
};

// The load runs while generation 1 is replaced three times with the same
// binary, each with another number of workers (2, 1, 3, 2: every inherited
// socket must keep accepting): no refused connection, no failed request
// (a socket left without an accept loop would time requests out). Before each restart a
// relayed TCP connection and an HTTP request (head and half its body sent)
// are opened on the old process; after the takeover the request completes
// and the relay keeps echoing until the old process's drainTimeout (3 s)
// closes it, and then the old process exits 0.
TEST_F(ProxyTakeover, ThreeRestartsUnderLoadRefuseNothingAndDrainOpenConnectionsToTheLimit) {
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  write_config("drainTimeout: 3000\n", backend.port(), echo.port());
  start(1, false);

  std::atomic<bool> stop{false};
  Counts counts;
  std::thread fresh([&] { new_connections(web_port_, stop, counts); });
  std::thread kept([&] { keep_alive(web_port_, stop, counts); });
  auto advanced = [&](int by) {
    int from = counts.ok.load();
    return eventually([&] { return counts.ok.load() >= from + by; }, 20s);
  };
  ASSERT_TRUE(advanced(20)) << counts.describe();

  for (int restart = 1; restart <= 3; ++restart) {
    SCOPED_TRACE("restart " + std::to_string(restart));
    auto& old = *generations_.back();
    // Opened on the old process: answered before the takeover begins.
    int relay = connect_to(relay_port_);
    ASSERT_TRUE(echoes(relay, "before")) << old.log();
    int upload = connect_to(web_port_);
    std::string upload_buffer;
    ASSERT_TRUE(send_all(upload, kRequest));
    auto first = read_response(upload, upload_buffer);
    ASSERT_TRUE(first && first->status == 200);
    ASSERT_TRUE(send_all(upload, "POST /echo HTTP/1.1\r\nHost: web.test\r\nContent-Length: 10\r\n\r\nhello"));

    const int workers[] = {1, 3, 2};
    auto& next = start(restart + 1, true, workers[restart - 1]);
    EXPECT_THAT(next.log(), HasSubstr("took over from pid " + std::to_string(old.pid())));
    ASSERT_TRUE(advanced(20)) << counts.describe();

    // The request in flight completes on the old process, which then closes
    // the connection (its head went out before the drain: no Connection: close).
    ASSERT_TRUE(send_all(upload, "world"));
    auto answer = read_response(upload, upload_buffer);
    ASSERT_TRUE(answer) << old.log();
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, "helloworld");
    EXPECT_TRUE(closed_by_peer(upload, 5s));
    ::close(upload);

    // The relay keeps working on the old process until the drain limit.
    int echoed_after = 0;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline &&
           echoes(relay, "ping " + std::to_string(echoed_after))) {
      ++echoed_after;
      std::this_thread::sleep_for(100ms);
    }
    ::close(relay);
    EXPECT_GT(echoed_after, 0);
    EXPECT_EQ(old.wait(10s), 0) << old.log();
    EXPECT_THAT(old.log(), HasSubstr("drain timeout: ")) << "the relay was cut before the drain limit";
    EXPECT_TRUE(eventually([&] {
      return call(dir_, "getStatistics").as_object().if_contains("previousGeneration") == nullptr;
    }));
  }
  ASSERT_TRUE(advanced(20)) << counts.describe();
  stop = true;
  fresh.join();
  kept.join();
  EXPECT_EQ(counts.refused.load(), 0) << counts.describe();
  EXPECT_EQ(counts.failed.load(), 0) << counts.describe();
  std::cout << "load across 3 restarts: " << counts.describe() << "\n";
}

// Generation 2 takes over while generation 1 drains a connection (drain
// limit 60 s); when generation 3 takes over from 2, generation 1 is told to
// close at once: at most one generation drains.
TEST_F(ProxyTakeover, AThirdGenerationMakesTheFirstCloseAtOnce) {
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  write_config("drainTimeout: 60000\n", backend.port(), echo.port());
  auto& first = start(1, false);
  int on_first = connect_to(relay_port_);
  ASSERT_TRUE(echoes(on_first, "one"));

  auto& second = start(2, true, 3);  // another worker count: every socket is kept all the same
  ASSERT_TRUE(echoes(on_first, "still one")) << first.log();
  int on_second = connect_to(relay_port_);
  ASSERT_TRUE(echoes(on_second, "two"));
  auto stats = call(dir_, "getStatistics").as_object();
  ASSERT_TRUE(stats.contains("previousGeneration")) << stats;
  EXPECT_EQ(stats["previousGeneration"].at("pid").to_number<int>(), first.pid());
  EXPECT_EQ(stats["previousGeneration"].at("drainingConnections").to_number<int>(), 1);

  start(3, true, 1);
  EXPECT_EQ(first.wait(10s), 0) << first.log();
  EXPECT_THAT(first.log(), HasSubstr("was taken over in turn; closing every connection now"));
  EXPECT_TRUE(closed_by_peer(on_first, 5s));
  ::close(on_first);
  // The second drains on, within its own limit.
  ASSERT_TRUE(echoes(on_second, "still two")) << second.log();
  EXPECT_TRUE(second.running());
  EXPECT_EQ(call(dir_, "getStatistics").at("previousGeneration").at("pid").to_number<int>(), second.pid());
  int on_third = connect_to(relay_port_);
  EXPECT_TRUE(echoes(on_third, "three"));
  ::close(on_third);
  // Its last connection ends: it exits without waiting for the limit.
  ::close(on_second);
  EXPECT_EQ(second.wait(10s), 0) << second.log();
  EXPECT_THAT(second.log(), HasSubstr("drained; stopped"));
}

// A successor with another config: the ports it keeps are inherited, a new
// one is bound, a dropped one is closed (once the old process has closed
// its copies); the metrics address moves over too.
TEST_F(ProxyTakeover, ASuccessorWithAnotherConfigBindsNewPortsAndClosesDroppedOnes) {
  BASALT_REQUIRE_TOOL("curl");
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  const auto metrics = testing::free_port();
  const std::string metrics_yaml = "metrics: {listen: \"127.0.0.1:" + std::to_string(metrics) + "\"}\n";
  write_config(metrics_yaml, backend.port(), echo.port());
  auto& first = start(1, false);
  const auto dropped = web_port_;
  web_port_ = testing::free_port();  // the web route moves to a new port
  write_config(metrics_yaml, backend.port(), echo.port());
  auto& second = start(2, true);
  int fd = connect_to(relay_port_);
  EXPECT_TRUE(echoes(fd, "kept"));
  ::close(fd);
  auto fresh = connect_to(web_port_);
  std::string buffer;
  ASSERT_TRUE(send_all(fresh, kRequest));
  auto r = read_response(fresh, buffer);
  EXPECT_TRUE(r && r->body == "backend a");
  ::close(fresh);
  EXPECT_EQ(first.wait(10s), 0) << first.log();
  EXPECT_LT(connect_to(dropped), 0) << "the dropped port is closed";
  EXPECT_THAT(second.log(), HasSubstr(":" + std::to_string(dropped) + " is not in this config; closing it"));
  auto text = curl({"http://127.0.0.1:" + std::to_string(metrics) + "/metrics"});
  EXPECT_EQ(text.exit_code, 0) << text.err << second.log();
  EXPECT_THAT(text.out, HasSubstr("basalt_proxy_connections_total"));
}

// A takeover socket that cannot be made (no such folder, and none can be
// created) costs only the takeover: the proxy serves, and says so.
TEST_F(ProxyTakeover, WithoutATakeoverSocketTheProxyStillServes) {
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  write_config("takeoverSocket: /proc/basalt-no-such-folder/takeover.sock\n", backend.port(), echo.port());
  auto& g = start(1, false);
  int fd = connect_to(relay_port_);
  EXPECT_TRUE(echoes(fd, "served"));
  ::close(fd);
  EXPECT_THAT(g.log(), HasSubstr("`serve --takeover` cannot replace this process"));
}

// `drain {graceMs}` by hand: the process stops accepting (nobody takes
// over, so new connections are refused), reports itself draining, serves its
// open connection, and exits as soon as that ends. --takeover with nothing
// to take over starts on fresh sockets.
TEST_F(ProxyTakeover, DrainByHandStopsAcceptingAndExitsWhenTheLastConnectionEnds) {
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  write_config("", backend.port(), echo.port());
  auto& g = start(1, true, 2, false);
  EXPECT_THAT(g.log(), HasSubstr("nothing listens on"));
  // Garbage on the takeover socket: an error, and nothing changes.
  int garbage = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", dir_.file("takeover.sock").c_str());
  ASSERT_EQ(::connect(garbage, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  send_all(garbage, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_THAT(read_some_until(garbage, 1 << 16, 5s), HasSubstr(R"("op":"error")"));
  ::close(garbage);

  int open = connect_to(relay_port_);
  ASSERT_TRUE(echoes(open, "open"));
  EXPECT_THAT(
      [&] {
        try {
          call(dir_, "drain", {{"graceMs", 0}});
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("graceMs"));
  auto answer = call(dir_, "drain", {{"graceMs", 60000}});
  EXPECT_EQ(answer.at("draining"), true) << answer;
  EXPECT_EQ(answer.at("graceMs").to_number<int>(), 60000);
  auto stats = call(dir_, "getStatistics");
  EXPECT_EQ(stats.at("draining"), true) << stats;
  EXPECT_EQ(stats.at("drainingConnections").to_number<int>(), 1) << stats;
  EXPECT_EQ(call(dir_, "getMetrics").at("draining"), true);
  EXPECT_LT(connect_to(relay_port_), 0) << "a drained process accepts nothing";
  EXPECT_FALSE(fs::exists(dir_.file("takeover.sock"))) << "nothing to take over from a draining process";
  EXPECT_TRUE(echoes(open, "served"));
  ::close(open);
  EXPECT_EQ(g.wait(10s), 0) << g.log();
}

// Engine mode (`--management` on stdio): `drain {graceMs}` stops the proxy
// as `stop` does, with that grace, and answers once it has stopped.
TEST_F(ProxyTakeover, EngineModeDrainStopsTheProxyWithItsGrace) {
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  Process engine({.argv = {testing::binary("basalt-proxy"), "--management"}, .capture_stderr = true});
  ASSERT_TRUE(engine.read_line());  // ready
  boost::json::object target{{"host", "127.0.0.1"}, {"port", echo.port()}};
  boost::json::object action{{"type", "forward"}, {"targets", boost::json::array{target}}};
  boost::json::object route{{"name", "relay"}, {"match", {{"ports", relay_port_}}}, {"action", action}};
  boost::json::object config{{"routes", boost::json::array{route}}};
  boost::json::object start_request{{"id", "1"}, {"method", "start"}, {"params", {{"config", config}}}};
  engine.write(boost::json::serialize(start_request) + "\n");
  std::string lines;
  for (int i = 0; i < 3 && lines.find(R"("id":"1")") == std::string::npos; ++i)
    lines += engine.read_line().value_or("");
  ASSERT_THAT(lines, HasSubstr(R"("id":"1","success":true)"));
  int open = connect_to(relay_port_);
  ASSERT_TRUE(echoes(open, "engine"));
  engine.write(R"({"id":"2","method":"drain","params":{"graceMs":300}})"
               "\n");
  lines.clear();
  for (int i = 0; i < 5 && (lines.find(R"("id":"2")") == std::string::npos ||
                            lines.find(R"("event":"stopped")") == std::string::npos);
       ++i)
    lines += engine.read_line(10s).value_or("");
  EXPECT_THAT(lines, HasSubstr(R"("event":"stopped")"));
  EXPECT_THAT(lines, HasSubstr(R"("id":"2","success":true,"result":{"draining":true,"graceMs":300})"));
  EXPECT_TRUE(closed_by_peer(open, 5s)) << "the grace has passed";
  ::close(open);
  EXPECT_LT(connect_to(relay_port_), 0);
  engine.close_stdin();
  EXPECT_EQ(engine.wait(), 0);
}

// SIGUSR2: the running process starts its successor (its own command line
// with --takeover), which takes over and tells the service manager it is
// the main process now; the old one, idle, exits at once.
TEST_F(ProxyTakeover, Sigusr2StartsASuccessorThatBecomesTheMainProcess) {
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  write_config("", backend.port(), echo.port());
  // The successor is the old process's child; once that exits it is ours.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto& g = start(1, false);
  g.signal(SIGUSR2);
  pid_t successor = 0;
  ASSERT_TRUE(eventually(
      [&] {
        manager_.wait_for(0, "never", 50ms);
        auto seen = manager_.seen();
        auto at = seen.find("MAINPID=");
        if (at == std::string::npos) return false;
        successor = std::atoi(seen.c_str() + at + 8);
        return true;
      },
      30s))
      << manager_.seen() << g.log();
  EXPECT_NE(successor, g.pid());
  EXPECT_TRUE(manager_.wait_for(successor, "READY=1"));
  EXPECT_EQ(g.wait(10s), 0) << g.log();
  EXPECT_THAT(g.log(), HasSubstr("SIGUSR2: started successor pid " + std::to_string(successor)));
  int fd = connect_to(relay_port_);
  EXPECT_TRUE(echoes(fd, "upgraded"));
  ::close(fd);
  EXPECT_EQ(call(dir_, "getStatistics").at("workers").to_number<int>(), 2);
  ::kill(successor, SIGTERM);
  int status = -1;
  bool reaped = eventually([&] { return ::waitpid(successor, &status, WNOHANG) == successor; }, 20s);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(reaped) << "the successor did not stop";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// ---- WebSocket (npm ws) ----------------------------------------------------------

// A WebSocket client on a raw socket: the upgrade, then masked text frames
// echoed back by the server.
class WebSocket {
 public:
  bool open(std::uint16_t port) {
    fd_ = connect_to(port);
    if (fd_ < 0) return false;
    send_all(fd_,
             "GET /live HTTP/1.1\r\nHost: web.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(buffer_.size() + 1)) return false;
    }
    bool upgraded = buffer_.starts_with("HTTP/1.1 101");
    buffer_.erase(0, end + 4);
    return upgraded;
  }
  ~WebSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool exchange(const std::string& text) {
    std::string frame{static_cast<char>(0x81), static_cast<char>(0x80 | text.size()), 1, 2, 3, 4};
    for (std::size_t i = 0; i < text.size(); ++i) frame.push_back(static_cast<char>(text[i] ^ (i % 4 + 1)));
    if (!send_all(fd_, frame) || !fill(2)) return false;
    std::size_t length = static_cast<unsigned char>(buffer_[1]) & 0x7f;
    if (static_cast<unsigned char>(buffer_[0]) != 0x81 || length >= 126 || !fill(2 + length)) return false;
    std::string got = buffer_.substr(2, length);
    buffer_.erase(0, 2 + length);
    return got == text;
  }

 private:
  bool fill(std::size_t want) {
    while (buffer_.size() < want) {
      auto more = read_some_until(fd_, 1, 5s);
      if (more.empty()) return false;
      buffer_ += more;
    }
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
};

// A WebSocket opened before a restart exchanges a message every 100 ms with
// the ws echo server through the old process until the drain limit.
TEST_F(ProxyTakeover, WebSocketOpenedBeforeARestartWorksUntilTheDrainLimit) {
  BASALT_REQUIRE_NODE_PEERS();
  Process ws({.argv = {"node", NodePeers::get().script("ws_echo_server.mjs"), "--port", "0"}});
  auto line = ws.read_line(20s);
  ASSERT_TRUE(line && line->starts_with("listening ")) << line.value_or("(nothing)");
  auto ws_port = static_cast<std::uint16_t>(std::stoi(line->substr(10)));
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  write_config("drainTimeout: 3000\n", ws_port, echo.port());
  auto& old = start(1, false);

  WebSocket socket;
  ASSERT_TRUE(socket.open(web_port_)) << old.log();
  ASSERT_TRUE(socket.exchange("before the restart"));
  start(2, true);
  int after = 0;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline && socket.exchange("message " + std::to_string(after))) {
    ++after;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(after, 0);
  EXPECT_EQ(old.wait(10s), 0) << old.log();
  EXPECT_THAT(old.log(), HasSubstr("drain timeout: ")) << "the WebSocket was cut before the drain limit";
  // New WebSockets go to the new process.
  WebSocket fresh;
  ASSERT_TRUE(fresh.open(web_port_));
  EXPECT_TRUE(fresh.exchange("after the restart"));
  std::cout << "WebSocket messages echoed by the draining process: " << after << "\n";
}

// UDP ports are handed over too: a client keeps its answers across a
// restart (through a forward UDP route to an echo route of the same
// proxy), the old process stops reading them, lets its sessions idle out
// and exits, and the successor serves the very same sockets.
TEST_F(ProxyTakeover, UdpPortsAreHandedOverAndTheOldSessionsIdleOut) {
  HttpBackend backend("a");
  ScriptedBackend echo(ScriptedBackend::Mode::kEcho);
  const auto front = testing::free_port();
  const auto back = testing::free_port();
  write_config("", backend.port(), echo.port());
  std::ofstream(dir_.file("proxy.yaml"), std::ios::app)
      << "  - {name: udp-front, match: {ports: " << front
      << ", transport: udp}, action: {type: forward, targets: [{host: 127.0.0.1, port: " << back << "}]}}\n"
      << "  - {name: udp-echo, match: {ports: " << back
      << ", transport: udp}, action: {type: socket-handler, socketHandler: {type: echo}}}\n";
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(front);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  auto exchange = [fd](const std::string& text) -> std::string {
    ::send(fd, text.data(), text.size(), 0);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "(no answer)";
    char buf[512];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    return n < 0 ? "(error)" : std::string(buf, static_cast<std::size_t>(n));
  };
  auto& first = start(1, false);
  EXPECT_EQ(exchange("one"), "one");
  auto& second = start(2, true);
  EXPECT_EQ(exchange("two"), "two");
  EXPECT_EQ(first.wait(20s), 0) << first.log();
  EXPECT_EQ(exchange("three"), "three") << second.log();
  EXPECT_THAT(second.log(), ::testing::Not(HasSubstr("in use")));
  ::close(fd);
}

}  // namespace
}  // namespace basalt::proxy_test
