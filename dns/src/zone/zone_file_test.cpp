#include "basalt/dns/zone/zone_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "basalt/dns/zone/zone_error.hpp"

namespace basalt::dns {
namespace {

namespace fs = std::filesystem;

// Zone files are checked as Knot DNS checks them at load (and BIND's
// named-checkzone): what either refuses stops the start, naming the file and
// the line of the record that breaks the rule.
class ZoneFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-zone-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  // The file kHead followed by `body`.
  std::string write_with_head(const std::string& name, std::string_view body) {
    std::ofstream(dir_ / name) << kHead << body;
    return (dir_ / name).string();
  }
  // What loading the file throws, or "loaded".
  std::string error_of(const std::string& path) {
    try {
      load_zone_file(path, std::nullopt, {});
    } catch (const ZoneError& e) {
      return e.what();
    }
    return "loaded";
  }

  static constexpr std::string_view kHead =
      "$ORIGIN example.test.\n"                             // 1
      "$TTL 3600\n"                                         // 2
      "@     SOA ns1 hostmaster 1 7200 3600 1209600 300\n"  // 3
      "@     NS  ns1\n"                                     // 4
      "ns1   A   192.0.2.1\n";                              // 5
  fs::path dir_;
};

TEST_F(ZoneFileTest, ADnameAtTheApexMayStandBesideNsButHaveNoNamesBelow) {
  // RFC 6672 §2.3 allows DNAME beside NS at the apex; §2.4 no names below a
  // DNAME, wherever it is (ns1 is below the apex).
  auto path = write_with_head("apex.zone", "www A 192.0.2.2\n@ DNAME example.net.\n");  // 7
  EXPECT_EQ(error_of(path), path +
                                ":7: the DNAME at example.test. has names below it (ns1.example.test.); RFC "
                                "6672 §2.4 allows none");
  path = write("ok.zone",
               "$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1.example.net. h 1 2 3 4 5\n"
               "@ NS ns1.example.net.\n@ DNAME example.net.\n@ MX 10 mail.example.net.\n");
  EXPECT_EQ(error_of(path), "loaded");
}

TEST_F(ZoneFileTest, AZoneFileWithoutSoaIsRefused) {
  auto path = write("nosoa.zone", "$ORIGIN example.test.\n$TTL 3600\n@ NS ns1\nns1 A 192.0.2.1\n");
  EXPECT_EQ(error_of(path), path + ": no SOA record at the zone apex example.test.");
}

TEST_F(ZoneFileTest, AZoneFileWithoutApexNsIsRefused) {
  auto path = write("nons.zone",
                    "$ORIGIN example.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                    "ns1 A 192.0.2.1\n");
  EXPECT_EQ(error_of(path), path + ": no NS record at the zone apex example.test.");
}

TEST_F(ZoneFileTest, NsBesideDnameBelowTheApexIsRefusedAtTheLineOfTheSecond) {
  auto path = write_with_head("dname.zone",
                              "sub   NS    ns1.other.test.\n"  // 6
                              "sub   DNAME target.test.\n");   // 7
  EXPECT_EQ(error_of(path), path +
                                ":7: sub.example.test. has a DNAME and an NS record; RFC 6672 §2.3 allows "
                                "that only at the zone apex");
  path = write_with_head("dname2.zone",
                         "sub   DNAME target.test.\n"       // 6
                         "www   A     192.0.2.7\n"          // 7
                         "sub   NS    ns1.other.test.\n");  // 8
  EXPECT_THAT(error_of(path), testing::StartsWith(path + ":8: sub.example.test. has a DNAME and an NS"));
}

TEST_F(ZoneFileTest, NamesBelowADnameAndASecondDnameAreRefused) {
  auto path = write_with_head("child.zone",
                              "sub      DNAME target.test.\n"  // 6
                              "x.sub    A     192.0.2.3\n");   // 7
  EXPECT_EQ(error_of(path), path +
                                ":7: x.sub.example.test. is below the DNAME at sub.example.test.; RFC 6672 "
                                "§2.4 allows no names there");
  path = write_with_head("child2.zone",
                         "a.b.sub  TXT   \"x\"\n"           // 6
                         "sub      DNAME target.test.\n");  // 7
  EXPECT_EQ(error_of(path),
            path +
                ":7: the DNAME at sub.example.test. has names below it (a.b.sub.example.test.); "
                "RFC 6672 §2.4 allows none");
  path = write_with_head("two.zone",
                         "sub DNAME a.test.\n"    // 6
                         "sub DNAME b.test.\n");  // 7
  EXPECT_EQ(error_of(path), path + ":7: sub.example.test. has more than one DNAME record (RFC 6672 §2.4)");
}

TEST_F(ZoneFileTest, SemanticErrorsNameTheLineOfTheRecord) {
  auto path = write_with_head("cname.zone",
                              "www   A     192.0.2.2\n"      // 6
                              "www   CNAME other.test.\n");  // 7
  EXPECT_EQ(error_of(path), path + ":7: www.example.test. has a CNAME and other data (A) (RFC 1034 §3.6.2)");
  path = write_with_head("outside.zone", "\n\nwww.example.net. A 192.0.2.2\n");  // 8
  EXPECT_THAT(error_of(path), testing::StartsWith(path + ":8: "));
  EXPECT_THAT(error_of(path), testing::HasSubstr("outside the zone"));
  path = write_with_head("soa2.zone", "@ SOA ns2 hostmaster 2 7200 3600 1209600 300\n");  // 6
  EXPECT_EQ(error_of(path), path + ":6: zone example.test. has more than one SOA record");

  // In an included file: that file and its line.
  write("inc.zone", "\nwww A 192.0.2.2\nwww CNAME other.test.\n");  // line 3
  path = write_with_head("main.zone", "$INCLUDE inc.zone\n");
  EXPECT_THAT(error_of(path),
              testing::StartsWith((dir_ / "inc.zone").string() + ":3: www.example.test. has a CNAME"));
}

TEST_F(ZoneFileTest, AMissingFileGivesTheReason) {
  EXPECT_EQ(error_of((dir_ / "nothing.zone").string()),
            (dir_ / "nothing.zone").string() + ": cannot read the file: No such file or directory");
}

}  // namespace
}  // namespace basalt::dns
