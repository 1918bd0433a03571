// The example stack `make run` starts: scripts/run-example itself, on free
// ports and a temporary run directory (its environment variables), with
// basalt-dns and basalt-proxy on the configs of examples/. Every command the
// script prints is run as printed and must show what it is there to show;
// then the script must stop both daemons, on Ctrl-C and when one of them dies.
#include <sys/types.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

class ExampleStack : public ::testing::Test {
 protected:
  void SetUp() override {
    // A shell without job control starts background commands with SIGINT
    // ignored, and a script cannot trap a signal ignored on entry: give the
    // script the disposition a terminal's Ctrl-C meets.
    std::signal(SIGINT, SIG_DFL);
    for (const char* tool : {"bash", "openssl", "curl", "dig", "kdig", "python3"}) BASALT_REQUIRE_TOOL(tool);
    // Eight different ports (free_port() picks at random).
    std::set<std::uint16_t> taken;
    for (const char* name :
         {"BASALT_DNS_PORT", "BASALT_DOH_PORT", "BASALT_DNS_METRICS_PORT", "BASALT_PROXY_TERMINATE_PORT",
          "BASALT_PROXY_PASSTHROUGH_PORT", "BASALT_PROXY_HTTP_PORT", "BASALT_PROXY_TCP_PORT",
          "BASALT_PROXY_ECHO_PORT", "BASALT_PROXY_METRICS_PORT"}) {
      std::uint16_t p = 0;
      do p = testing::free_port();
      while (!taken.insert(p).second);
      ports_[name] = p;
    }
  }

  void TearDown() override {
    // Whatever happened above, no daemon outlives the test.
    if (script_ && script_->running()) {
      script_->signal(SIGTERM);
      script_->wait(30s);
    }
    for (pid_t pid : {dns_pid_, proxy_pid_}) {
      if (alive(pid)) ::kill(pid, SIGKILL);
    }
  }

  std::string port(const std::string& name) { return std::to_string(ports_.at(name)); }

  // Starts the script; true once it printed its whole message (the
  // commands to try are collected in commands_).
  bool start() {
    std::vector<std::string> env{
        "BASALT_RUN_DIR=" + run_.path(),
        "BASALT_BIN_DIR=" + std::filesystem::path(testing::binary("basalt-proxy")).parent_path().string()};
    for (const auto& [name, p] : ports_) env.push_back(name + "=" + std::to_string(p));
    script_.emplace(Process::Options{.argv = {testing::source_dir() + "/scripts/run-example"}, .env = env});
    bool trying = false;
    while (auto line = script_->read_line(60s)) {
      message_ += *line + "\n";
      if (line->starts_with("Try,")) trying = true;
      if (*line == "Stop with Ctrl-C.") {
        dns_pid_ = read_pid("dns/basalt-dns.pid");
        proxy_pid_ = read_pid("proxy/basalt-proxy.pid");
        return alive(dns_pid_) && alive(proxy_pid_);
      }
      if (trying && line->starts_with("  ")) commands_.push_back(line->substr(2));
    }
    return false;
  }

  pid_t read_pid(const std::string& file) {
    pid_t pid = 0;
    std::ifstream(run_.file(file)) >> pid;
    return pid;
  }

  // True once both daemons are gone and their pid files removed.
  bool both_stopped() {
    return eventually([&] { return !alive(dns_pid_) && !alive(proxy_pid_); }, 30s) &&
           !std::filesystem::exists(run_.file("dns/basalt-dns.pid")) &&
           !std::filesystem::exists(run_.file("proxy/basalt-proxy.pid"));
  }

  TempDir run_;
  std::map<std::string, std::uint16_t> ports_;
  std::optional<Process> script_;
  std::string message_;
  std::vector<std::string> commands_;
  pid_t dns_pid_ = 0;
  pid_t proxy_pid_ = 0;
};

struct Expectation {
  std::string command_part;        // picks the printed command
  std::vector<std::string> shows;  // in what it prints (stdout and stderr)
};

TEST_F(ExampleStack, EveryPrintedCommandWorksAsPrintedAndCtrlCStopsBoth) {
  ASSERT_TRUE(start()) << message_;

  // One expectation per route and listener the message advertises.
  std::vector<Expectation> expectations{
      // TLS terminated by the proxy, the backend named backend.example.test
      // and found through basalt-dns: Prometheus text from basalt-dns.
      {"https://metrics.example.test:" + port("BASALT_PROXY_TERMINATE_PORT") + "/metrics",
       {"# TYPE basalt_dns_queries_total counter"}},
      {"-servername metrics.example.test", {"CN = metrics.example.test", "Verification: OK"}},
      // TLS passed through: basalt-dns's DoH, verified against its own certificate.
      {"https://doh.example.test:" + port("BASALT_PROXY_PASSTHROUGH_PORT") + "/dns-query",
       {"\"name\":\"backend.example.test.\"", "\"data\":\"127.0.0.1\""}},
      {"-servername doh.example.test", {"CN = doh.example.test", "Verification: OK"}},
      // HTTP routed per request: by Host and path to basalt-dns's metrics,
      // anything else answered by the proxy's redirect handler.
      {"Host: metrics.example.test' http://127.0.0.1:" + port("BASALT_PROXY_HTTP_PORT"),
       {"x-served-by: basalt-proxy metrics-http", "# TYPE basalt_dns_queries_total counter"}},
      {"Host: www.example.test' http://127.0.0.1:" + port("BASALT_PROXY_HTTP_PORT"),
       {"HTTP/1.1 308",
        "location: https://www.example.test:" + port("BASALT_PROXY_TERMINATE_PORT") + "/index.html"}},
      // Plain TCP to basalt-dns.
      {"-p " + port("BASALT_PROXY_TCP_PORT") + " +tcp", {"status: NOERROR", "ANSWER: 1,", "127.0.0.1"}},
      {"/dev/tcp/127.0.0.1/" + port("BASALT_PROXY_ECHO_PORT"), {"hello\n"}},
      {"http://127.0.0.1:" + port("BASALT_PROXY_METRICS_PORT") + "/metrics", {"# TYPE basalt_proxy_"}},
      {"getStatistics", {"\"success\":true"}},
      // The DNS server's own commands.
      {"-p " + port("BASALT_DNS_PORT") + " www.example.test A +dnssec", {"RRSIG"}},
      {"example.test AXFR", {"backend.example.test."}},
      {"-p " + port("BASALT_DOH_PORT") + " +https", {"www.example.test."}},
      {"https://127.0.0.1:" + port("BASALT_DOH_PORT") + "/dns-query", {"\"data\":\"127.0.0.1\""}},
      {"ds --zone example.test", {"example.test. IN DS"}},
  };
  for (const auto& e : expectations) {
    auto n = std::count_if(commands_.begin(), commands_.end(),
                           [&](const std::string& c) { return contains(c, e.command_part); });
    EXPECT_EQ(n, 1) << "the message should print one command with \"" << e.command_part << "\":\n"
                    << message_;
  }
  ASSERT_GE(commands_.size(), expectations.size()) << message_;

  for (const auto& command : commands_) {
    SCOPED_TRACE(command);
    auto r = testing::run({"bash", "-c", command}, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string shown = r.out + r.err;
    for (const auto& e : expectations) {
      if (!contains(command, e.command_part)) continue;
      for (const auto& part : e.shows)
        EXPECT_TRUE(contains(shown, part)) << "missing " << part << " in:\n" << shown;
    }
  }

  // State stayed in the run directory: the DNSSEC keys are there.
  EXPECT_TRUE(std::filesystem::exists(run_.file("dns/keys")));

  // What Ctrl-C does to the script: both daemons stop, the script exits.
  script_->signal(SIGINT);
  EXPECT_EQ(script_->wait(40s), 130);
  EXPECT_TRUE(both_stopped());
}

TEST_F(ExampleStack, WhenOneDaemonDiesTheScriptStopsTheOther) {
  ASSERT_TRUE(start()) << message_;
  ::kill(proxy_pid_, SIGKILL);
  auto code = script_->wait(40s);
  ASSERT_TRUE(code.has_value()) << "the script kept running after basalt-proxy died";
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(both_stopped());
}

}  // namespace
}  // namespace basalt::proxy_test
