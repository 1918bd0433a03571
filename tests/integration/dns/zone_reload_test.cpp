// basalt-dns serve re-reads its zone files on SIGHUP, all of them or none:
// new data is answered (dig) without a restart, a broken file changes nothing
// and is named in the log, and the other zone's good file is not half-applied.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

std::string zone_text(const std::string& origin, int serial, const std::string& extra) {
  return "$ORIGIN " + origin + ".\n$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(serial) +
         " 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n" + extra;
}

class ZoneReload : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    write("one.test", 1, "www IN A 192.0.2.1\n");
    write("two.test", 1, "www IN A 192.0.2.2\n");
    port_ = free_port();
    server_.emplace(Process::Options{
        .argv = {binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(port_),
                 "--zone-file", dir_.file("one.test.zone"), "--zone-file", dir_.file("two.test.zone"),
                 "--log-level", "info"},
        .capture_stderr = true});
    ASSERT_TRUE(wait_for_answer(port_, "www.one.test", "A", "192.0.2.1", *server_))
        << "basalt-dns did not start";
  }

  void TearDown() override {
    if (server_ && server_->running()) {
      server_->signal(SIGTERM);
      EXPECT_EQ(server_->wait(10s), 0);
    }
  }

  void write(const std::string& origin, int serial, const std::string& extra) {
    std::ofstream(dir_.file(origin + ".zone"), std::ios::trunc) << zone_text(origin, serial, extra);
  }
  std::string short_answer(const std::string& name) { return dig(port_, {name, "A", "+short"}).out; }

  // Stops the server and returns everything it logged.
  std::string stop_and_read_log() {
    server_->signal(SIGTERM);
    auto log = server_->read_all_stderr(10s);
    EXPECT_EQ(server_->wait(10s), 0);
    return log;
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<Process> server_;
};

TEST_F(ZoneReload, NewRecordsAreAnsweredAfterSighupWithoutARestart) {
  EXPECT_TRUE(contains(dig(port_, {"new.one.test", "A"}).out, "status: NXDOMAIN"));
  write("one.test", 2, "www IN A 192.0.2.11\nnew IN A 192.0.2.12\n");
  auto pid = server_->pid();
  server_->signal(SIGHUP);
  EXPECT_TRUE(wait_for_answer(port_, "new.one.test", "A", "192.0.2.12", *server_));
  EXPECT_EQ(short_answer("www.one.test"), "192.0.2.11\n");
  EXPECT_EQ(short_answer("www.two.test"), "192.0.2.2\n");
  auto soa = dig(port_, {"one.test", "SOA", "+short"}).out;
  EXPECT_TRUE(contains(soa, " 2 7200 ")) << soa;
  EXPECT_TRUE(server_->running());
  EXPECT_EQ(server_->pid(), pid);
  auto log = stop_and_read_log();
  EXPECT_TRUE(contains(log, "zone one.test. reloaded, serial 1 -> 2")) << log;
}

TEST_F(ZoneReload, ABrokenFileChangesNothingAndTheLogNamesIt) {
  // two.test is fine and newer, one.test is broken: neither is applied.
  write("two.test", 2, "www IN A 192.0.2.22\n");
  write("one.test", 2, "www IN A 192.0.2.11\nmail IN MX 10\n");
  server_->signal(SIGHUP);
  // The reload runs on the server's control thread; the old answers stay
  // while it runs and after it fails.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(short_answer("www.one.test"), "192.0.2.1\n");
    EXPECT_EQ(short_answer("www.two.test"), "192.0.2.2\n");
    std::this_thread::sleep_for(100ms);
  }
  // Fixing the file and signalling again applies both.
  write("one.test", 3, "www IN A 192.0.2.11\n");
  server_->signal(SIGHUP);
  EXPECT_TRUE(wait_for_answer(port_, "www.one.test", "A", "192.0.2.11", *server_));
  EXPECT_EQ(short_answer("www.two.test"), "192.0.2.22\n");
  auto log = stop_and_read_log();
  EXPECT_TRUE(contains(log, "zone reload failed, nothing changed: " + dir_.file("one.test.zone") + ":7: MX"))
      << log;
}

TEST_F(ZoneReload, AnUnchangedSerialIsServedButTheLogSaysSecondariesAreNotTold) {
  write("one.test", 1, "www IN A 192.0.2.111\n");
  server_->signal(SIGHUP);
  EXPECT_TRUE(wait_for_answer(port_, "www.one.test", "A", "192.0.2.111", *server_));
  auto log = stop_and_read_log();
  EXPECT_TRUE(contains(log, "zone one.test. reloaded, serial 1 unchanged")) << log;
}

}  // namespace
}  // namespace basalt::testing
