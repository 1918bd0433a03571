// basalt-dns serve given hostile or broken input: zone files Knot DNS
// refuses, files that are not files, config values it cannot run with, and a
// key directory left behind by a kill during the first start. Each must stop
// the start at once with a message naming the file (and line) or key — or,
// for the key directory, recover — never serve invented data, hang or grow
// without bound.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kHead =
    "$ORIGIN example.test.\n"
    "$TTL 3600\n"
    "@     SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    "@     NS  ns1\n"
    "ns1   A   127.0.0.1\n";

// Runs `serve` on a free port with `args` appended; it is expected to exit
// on its own (a hang is a failure: run() throws at the timeout).
RunResult serve(std::vector<std::string> args) {
  std::vector<std::string> argv = {binary("basalt-dns"), "serve",
                                   "--listen",           "127.0.0.1:" + std::to_string(free_port()),
                                   "--log-level",        "warn"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, 20s);
}

TEST(BadZoneFile, WithoutSoaTheStartFails) {
  TempDir dir;
  std::ofstream(dir.file("nosoa.zone")) << "$ORIGIN example.test.\n$TTL 3600\n@ NS ns1\nns1 A 127.0.0.1\n";
  auto r = serve({"--zone-file", dir.file("nosoa.zone"), "--state-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("nosoa.zone") + ": no SOA record at the zone apex example.test."))
      << r.err;
}

TEST(BadZoneFile, NsBesideDnameBelowTheApexFailsWithTheLine) {
  TempDir dir;
  std::ofstream(dir.file("dname.zone")) << kHead << "sub NS ns1.other.test.\nsub DNAME target.test.\n";
  auto r = serve({"--zone-file", dir.file("dname.zone"), "--state-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("dname.zone") + ":7: sub.example.test. has a DNAME and an NS record"))
      << r.err;
}

TEST(BadZoneFile, AMissingFileGivesTheReason) {
  TempDir dir;
  auto r = serve({"--zone-file", dir.file("missing.zone"), "--state-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("missing.zone") + ": cannot read the file: No such file or directory"))
      << r.err;
}

TEST(BadZoneFile, AFifoIsRefusedNotWaitedOn) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("fifo.zone").c_str(), 0600), 0);
  auto r = serve({"--zone-file", dir.file("fifo.zone"), "--state-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("fifo.zone") + ": cannot read the file: not a regular file (a FIFO)"))
      << r.err;
}

TEST(BadZoneFile, IncludingDevZeroIsRefused) {
  TempDir dir;
  std::ofstream(dir.file("main.zone")) << kHead << "$INCLUDE /dev/zero\n";
  auto r = serve({"--zone-file", dir.file("main.zone"), "--state-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("main.zone") +
                                  ":6: cannot read $INCLUDE file \"/dev/zero\": not a regular file (a "
                                  "character device)"))
      << r.err;
}

TEST(BadZoneFile, AHugeLineFailsAtTheLimit) {
  TempDir dir;
  {
    std::ofstream f(dir.file("big.zone"));
    f << kHead << "big TXT \"";
  }
  fs::resize_file(dir.file("big.zone"), std::uintmax_t{1} << 30);  // 1 GiB, sparse
  auto r = serve({"--zone-file", dir.file("big.zone"), "--state-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("big.zone") + ":6: record or line longer than 1 MiB")) << r.err;
}

TEST(BadConfig, YamlAliasesAreRefusedWithTheLine) {
  TempDir dir;
  std::ofstream(dir.file("c.yaml")) << "listen: [127.0.0.1:5353]\nzones: &z []\ndoh: *z\n";
  auto r = run({binary("basalt-dns"), "serve", "--config", dir.file("c.yaml")}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("c.yaml") + ":2:")) << r.err;
  EXPECT_TRUE(contains(r.err, "anchor &z")) << r.err;
}

TEST(BadConfig, AFifoIsRefusedNotWaitedOn) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("c.yaml").c_str(), 0600), 0);
  auto r = run({binary("basalt-dns"), "serve", "--config", dir.file("c.yaml")}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("c.yaml") + ": cannot read the file: not a regular file (a FIFO)"))
      << r.err;
}

TEST(BadConfig, TooManyWorkersFailAtOnceNamingTheKey) {
  TempDir dir;
  std::ofstream(dir.file("c.yaml")) << "listen: [127.0.0.1:" << free_port() << "]\nworkers: 100000\n";
  auto r =
      run({binary("basalt-dns"), "serve", "--config", dir.file("c.yaml"), "--state-dir", dir.path()}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "workers: 100000 is not between 0 and 255 (0: one per core)")) << r.err;
}

// A kill between writing a new key's .private and its .key (simulated: one
// key made by `keygen`, its .key put back as the temporary file the writer
// uses) must not brick the directory: the next start removes that .private
// and makes a new key. A .private without its .key and without that
// temporary file is someone else's: the start stops and keeps it.
class KeyDirectory : public ::testing::Test {
 protected:
  // Makes a key with `basalt-dns keygen` in a scratch directory; returns the
  // path of its .private.
  fs::path keygen() {
    auto r = run({binary("basalt-dns"), "keygen", "--zone", "example.test", "--key-dir", scratch_.path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const auto& e : fs::directory_iterator(scratch_.path())) {
      if (e.path().extension() == ".private") return e.path();
    }
    ADD_FAILURE() << "keygen wrote no .private";
    return {};
  }
  TempDir scratch_, state_;
  fs::path keys_ = fs::path(state_.path()) / "keys";
};

TEST_F(KeyDirectory, AKillDuringTheFirstKeyWriteIsRecoveredOnTheNextStart) {
  BASALT_REQUIRE_TOOL("dig");
  auto priv = keygen();
  ASSERT_FALSE(priv.empty());
  fs::create_directories(keys_);
  fs::rename(priv, keys_ / priv.filename());
  auto pub = fs::path(priv).replace_extension(".key");
  fs::rename(pub, keys_ / ("." + pub.filename().string() + ".tmp.aB3dE5"));

  std::ofstream(state_.file("z.zone")) << kHead << "www A 192.0.2.80\n";
  auto port = free_port();
  Process server({.argv = {binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                           "--zone-file", state_.file("z.zone"), "--state-dir", state_.path(),
                           "--dnssec-zone", "example.test", "--log-level", "warn"},
                  .capture_stderr = true});
  ASSERT_TRUE(wait_for_answer(port, "www.example.test", "A", "192.0.2.80", server))
      << server.read_all_stderr(1s);
  auto keys = dig(port, {"example.test", "DNSKEY", "+short"});
  EXPECT_TRUE(contains(keys.out, "257 3 13 ")) << keys.out;
  EXPECT_FALSE(fs::exists(keys_ / priv.filename()));  // the interrupted key is gone, a new one made
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0);
  EXPECT_TRUE(contains(server.read_all_stderr(1s), priv.filename().string()));  // with a warning naming it
}

TEST_F(KeyDirectory, AnImportedPrivateFileWithoutItsKeyStopsTheStartAndIsKept) {
  auto priv = keygen();
  ASSERT_FALSE(priv.empty());
  fs::create_directories(keys_);
  fs::rename(priv, keys_ / priv.filename());

  std::ofstream(state_.file("z.zone")) << kHead;
  auto r = serve(
      {"--zone-file", state_.file("z.zone"), "--state-dir", state_.path(), "--dnssec-zone", "example.test"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "dnssec.key_dir: \"" + (keys_ / priv.filename()).string() + "\" has no "))
      << r.err;
  EXPECT_TRUE(fs::exists(keys_ / priv.filename()));
}

}  // namespace
}  // namespace basalt::testing
