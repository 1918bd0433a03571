#include "basalt/core/config.hpp"

#include <gtest/gtest.h>
#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace basalt::core::config {
namespace {

enum class Mode { fast, safe };
BOOST_DESCRIBE_ENUM(Mode, fast, safe)

struct Zone {
  std::optional<std::string> file;
  std::optional<std::string> apex;
  void validate(const Node& n) const {
    if (file.has_value() == apex.has_value()) n.fail("needs exactly one of `file` or `apex`");
  }
};
BOOST_DESCRIBE_STRUCT(Zone, (), (file, apex))

struct Log {
  std::string level = "info";
};
BOOST_DESCRIBE_STRUCT(Log, (), (level))

struct Sample {
  std::vector<std::string> listen;
  std::vector<Zone> zones;
  std::uint16_t port = 53;
  bool enabled = false;
  Mode mode = Mode::safe;
  std::chrono::seconds signature_validity{3600};
  Log log;
  std::map<std::string, int> limits;
};
BOOST_DESCRIBE_STRUCT(Sample, (), (listen, zones, port, enabled, mode, signature_validity, log, limits))

struct EngineConfig {
  int udp_port = 0;
  std::string dnssec_zone;
};
BOOST_DESCRIBE_STRUCT(EngineConfig, (), (udp_port, dnssec_zone))

}  // namespace
template <>
inline constexpr KeyStyle key_style<EngineConfig> = KeyStyle::camel;
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Config, DecodesYamlIntoTypedStruct) {
  auto tree = parse_yaml(R"(
listen:
  - 127.0.0.1:5353
  - "[::1]:5353"
zones:
  - file: examples/dns/example.test.zone
  - apex: dyn.example.test
port: 5300
enabled: yes_is_not_a_bool_in_yaml_1_2
)");
  EXPECT_EQ(error_of([&] { decode<Sample>(tree); }),
            R"(enabled: "yes_is_not_a_bool_in_yaml_1_2" is not a boolean (true or false))");
  tree.as_object()["enabled"] = true;
  auto s = decode<Sample>(tree);
  EXPECT_EQ(s.listen, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:5353"}));
  ASSERT_EQ(s.zones.size(), 2u);
  EXPECT_EQ(s.zones[0].file, "examples/dns/example.test.zone");
  EXPECT_EQ(s.zones[1].apex, "dyn.example.test");
  EXPECT_EQ(s.port, 5300);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.log.level, "info");  // absent keys keep defaults
}

TEST(Config, ErrorsNameKeyPathValueAndWhatIsAllowed) {
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("port: 70000")); }),
            "port: 70000 is not an integer between 0 and 65535");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("zones:\n  - file: a\n  - fil: b")); }),
            "zones[1].fil: unknown key (allowed: file, apex)");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("zones:\n  - {file: a, apex: b}")); }),
            "zones[0]: an object needs exactly one of `file` or `apex`");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("mode: turbo")); }),
            R"(mode: "turbo" is not one of: fast, safe)");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("signature_validity: 14")); }),
            "signature_validity: 14 is not a duration such as 500ms, 90s, 15m, 12h, 14d");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("listen: 127.0.0.1:53")); }),
            R"(listen: "127.0.0.1:53" is not a list)");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("log: {level: [1]}")); }),
            "log.level: a list is not a string");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("limits: {a: 1.5}")); }),
            "limits.a: 1.5E0 is not an integer between -2147483648 and 2147483647");
  EXPECT_EQ(error_of([] { decode<Sample>(parse_yaml("- 1")); }), "a list is not a mapping of keys to values");
}

TEST(Config, FailedDecodeLeavesTargetUnchanged) {
  Sample s;
  s.port = 1;
  EXPECT_THROW(decode(Node(parse_yaml("port: 2\nbogus: 1"), ""), s), Error);
  EXPECT_EQ(s.port, 1);
}

TEST(Config, DurationsAndEnums) {
  auto s = decode<Sample>(parse_yaml("signature_validity: 14d\nmode: fast"));
  EXPECT_EQ(s.signature_validity, std::chrono::hours(24 * 14));
  EXPECT_EQ(s.mode, Mode::fast);
}

TEST(Config, YamlScalarsFollowTheCoreSchema) {
  auto tree = parse_yaml(R"(
a: 5353
b: "5353"
c: true
d: 'true'
e: ~
f: 1.5
g: 127.0.0.1
h: 0x1F
i: !!str 12
)");
  auto& o = tree.as_object();
  EXPECT_TRUE(o["a"].is_int64());
  EXPECT_TRUE(o["b"].is_string());
  EXPECT_TRUE(o["c"].is_bool());
  EXPECT_TRUE(o["d"].is_string());
  EXPECT_TRUE(o["e"].is_null());
  EXPECT_TRUE(o["f"].is_double());
  EXPECT_EQ(o["g"].as_string(), "127.0.0.1");
  EXPECT_EQ(o["h"].as_int64(), 31);
  EXPECT_EQ(o["i"].as_string(), "12");
}

TEST(Config, YamlSyntaxErrorsAndDuplicateKeysGiveSourceLine) {
  EXPECT_EQ(error_of([] { parse_yaml("a: 1\na: 2\n", "x.yaml"); }), R"(x.yaml:2:1: duplicate key "a")");
  auto msg = error_of([] { parse_yaml("a: [1, 2\nb: 3\n", "x.yaml"); });
  EXPECT_TRUE(msg.starts_with("x.yaml:")) << msg;
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
}

TEST(Config, LoadFileReadsJsonAndYamlAndNamesTheFile) {
  std::string dir = ::testing::TempDir();
  {
    std::ofstream(dir + "/c.json") << "{\n  \"port\": 99,\n  \"listen\": [\"a\",]\n}";
    std::ofstream(dir + "/c.yaml") << "port: 99\n";
    std::ofstream(dir + "/empty.yaml") << "";
  }
  auto msg = error_of([&] { load_file(dir + "/c.json"); });
  EXPECT_TRUE(msg.starts_with(dir + "/c.json:3:")) << msg;
  EXPECT_EQ(decode<Sample>(load_file(dir + "/c.yaml")).port, 99);
  EXPECT_EQ(decode<Sample>(load_file(dir + "/empty.yaml")).port, 53);
  EXPECT_NE(error_of([&] { load_file(dir + "/missing.yaml"); }).find("cannot read the file"),
            std::string::npos);
}

// A YAML alias copies the anchored node wherever it is used, so nine lines of
// nested aliases make a billion values ("billion laughs"). basalt configs
// never need them: any anchor or alias is refused, naming where it is.
TEST(Config, YamlAnchorsAndAliasesAreRefusedWithTheirLine) {
  auto msg = error_of([] { parse_yaml("port: 53\nlisten: &addrs [a, b]\nzones: *addrs\n", "x.yaml"); });
  EXPECT_TRUE(msg.starts_with("x.yaml:2:")) << msg;
  EXPECT_NE(msg.find("anchor &addrs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not supported"), std::string::npos) << msg;

  // An alias of an anchor the document does not define is refused too
  // (yaml-cpp itself reports it), and a bomb fails at its first anchor.
  msg = error_of([] { parse_yaml("a: *nothing\n", "x.yaml"); });
  EXPECT_TRUE(msg.starts_with("x.yaml:1:")) << msg;
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'f'; ++level) {
    std::string prev(1, static_cast<char>(level - 1));
    bomb += std::string(1, level) + ": &" + std::string(1, level) + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  msg = error_of([&] { parse_yaml(bomb, "bomb.yaml"); });
  EXPECT_TRUE(msg.starts_with("bomb.yaml:1:")) << msg;
  EXPECT_NE(msg.find("anchor &a"), std::string::npos) << msg;
}

// The config file must be a regular file of at most 16 MiB: a FIFO would hang
// the start, /dev/zero would grow the process without end.
TEST(Config, LoadFileRefusesWhatIsNotARegularFileAndFilesOver16MiB) {
  std::string dir = ::testing::TempDir() + "/basalt-config-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/conf.d");
  // A directory: checked first, so that without the check the test stops
  // here instead of hanging on the FIFO below.
  auto msg = error_of([&] { load_file(dir + "/conf.d"); });
  ASSERT_EQ(msg, dir + "/conf.d: cannot read the file: not a regular file (a directory)");
  ASSERT_EQ(::mkfifo((dir + "/fifo.yaml").c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { load_file(dir + "/fifo.yaml"); }),
            dir + "/fifo.yaml: cannot read the file: not a regular file (a FIFO)");
  EXPECT_EQ(error_of([&] { load_file("/dev/zero"); }),
            "/dev/zero: cannot read the file: not a regular file (a character device)");

  {
    std::ofstream big(dir + "/big.yaml");
    big << "port: 99\n#" << std::string(16 * 1024 * 1024, 'x') << "\n";
  }
  EXPECT_EQ(error_of([&] { load_file(dir + "/big.yaml"); }),
            dir + "/big.yaml: cannot read the file: larger than 16 MiB, the limit for a config file");
  {
    std::ofstream fits(dir + "/fits.yaml");
    fits << "port: 99\n#" << std::string(16 * 1024 * 1024 - 20, 'x') << "\n";
  }
  EXPECT_EQ(decode<Sample>(load_file(dir + "/fits.yaml")).port, 99);
  std::filesystem::remove_all(dir);
}

TEST(Config, CamelCaseStructsForManagementProtocols) {
  auto c = decode<EngineConfig>(boost::json::parse(R"({"udpPort": 5353, "dnssecZone": "example.test"})"),
                                "config");
  EXPECT_EQ(c.udp_port, 5353);
  EXPECT_EQ(c.dnssec_zone, "example.test");
  EXPECT_EQ(error_of([] { decode<EngineConfig>(boost::json::parse(R"({"udp_port": 1})"), "config"); }),
            "config.udp_port: unknown key (allowed: udpPort, dnssecZone)");
}

// Protocols whose newer peers may send options this version does not know
// collect unknown keys (with their paths) instead of failing; the rest of
// the value is still decoded and validated.
TEST(Config, UnknownKeysCanBeCollectedInsteadOfRejected) {
  auto json = boost::json::parse(
      R"({"port": 99, "newOption": true, "log": {"level": "debug", "colour": "auto"}, "zones": [{"apex": "a", "x": 1}]})");
  std::vector<std::string> unknown;
  auto s = decode<Sample>(json, "config", {.unknown_keys = &unknown});
  EXPECT_EQ(s.port, 99);
  EXPECT_EQ(s.log.level, "debug");
  EXPECT_EQ(unknown,
            (std::vector<std::string>{"config.newOption", "config.log.colour", "config.zones[0].x"}));
  // Known keys are still checked.
  EXPECT_EQ(error_of([&] {
              decode<Sample>(boost::json::parse(R"({"port": "x", "newOption": 1})"), "config",
                             {.unknown_keys = &unknown});
            }),
            "config.port: \"x\" is not an integer between 0 and 65535");
  // Without the option (config files) an unknown key stays an error.
  EXPECT_EQ(error_of([&] { decode<Sample>(json, "config"); }).substr(0, 35),
            "config.newOption: unknown key (allo");
}

}  // namespace
}  // namespace basalt::core::config
