#include "basalt/dns/zone/zone_parser.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace basalt::dns {
namespace {

Name N(std::string_view text) {
  return *Name::from_text(text);
}

std::vector<std::string> texts(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.to_text());
  return out;
}

std::string error_of(std::string_view zone, ZoneParseOptions options = {}) {
  try {
    parse_zone(zone, options, "test.zone");
  } catch (const ZoneError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ZoneParser, ParsesAClassicZone) {
  constexpr std::string_view kZone = R"(
$ORIGIN example.com.
$TTL 1h
@   IN  SOA ns1 hostmaster (
            2024010101 ; serial
            2h         ; refresh
            1h 2w 5m ) ; retry, expire, minimum
    IN  NS  ns1
    IN  NS  ns2.example.net.
    MX  10 mail
ns1     300 A 192.0.2.1
        AAAA 2001:db8::1
mail IN 600 A 192.0.2.2
www CNAME @
txt TXT "hello \"world\"" semi\;colon "\065\066C"
@ CAA 0 issue "letsencrypt.org"
_sip._tcp SRV 0 5 5060 sip
a\.b TYPE65280 \# 2 ABCD
)";
  ZoneParseOptions options;
  auto records = parse_zone(kZone, options);
  EXPECT_THAT(texts(records),
              testing::ElementsAre(
                  "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 "
                  "1209600 300",
                  "example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.net.",
                  "example.com. 3600 IN MX 10 mail.example.com.", "ns1.example.com. 300 IN A 192.0.2.1",
                  "ns1.example.com. 3600 IN AAAA 2001:db8::1", "mail.example.com. 600 IN A 192.0.2.2",
                  "www.example.com. 3600 IN CNAME example.com.",
                  "txt.example.com. 3600 IN TXT \"hello \\\"world\\\"\" \"semi;colon\" \"ABC\"",
                  "example.com. 3600 IN CAA 0 issue \"letsencrypt.org\"",
                  "_sip._tcp.example.com. 3600 IN SRV 0 5 5060 sip.example.com.",
                  "a\\.b.example.com. 3600 IN TYPE65280 \\# 2 ABCD"));
}

TEST(ZoneParser, TtlFallbacks) {
  ZoneParseOptions options;
  options.origin = N("example.com");
  // No $TTL: the SOA takes its MINIMUM, later records the previous TTL.
  auto records = parse_zone("@ SOA ns hm 1 2 3 4 300\n@ NS ns\nx 60 A 192.0.2.1\ny A 192.0.2.2\n", options);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].ttl, 300u);
  EXPECT_EQ(records[1].ttl, 300u);
  EXPECT_EQ(records[2].ttl, 60u);
  EXPECT_EQ(records[3].ttl, 60u);
  EXPECT_EQ(error_of("x A 192.0.2.1\n"), "test.zone:1: no TTL given and no $TTL before this record");
}

TEST(ZoneParser, ClassAndTtlInEitherOrder) {
  ZoneParseOptions options;
  options.origin = N("example.com");
  auto records = parse_zone("a IN 60 A 192.0.2.1\nb 70 IN A 192.0.2.2\nc 80 A 192.0.2.3\n", options);
  EXPECT_EQ(records[0].ttl, 60u);
  EXPECT_EQ(records[1].ttl, 70u);
  EXPECT_EQ(records[2].ttl, 80u);
}

TEST(ZoneParser, LongTextIsSplitAt255) {
  ZoneParseOptions options;
  options.default_ttl = 60;
  auto records = parse_zone("t.example. TXT \"" + std::string(300, 'a') + "\"\n", options);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].rdata.size(), 302u);
  EXPECT_EQ(records[0].rdata[0], 255);
  EXPECT_EQ(records[0].rdata[256], 45);
}

TEST(ZoneParser, Include) {
  auto dir = std::filesystem::temp_directory_path() / ("basalt_zone_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "sub.zone") << "host A 192.0.2.9\n";
  std::ofstream(dir / "main.zone")
      << "$ORIGIN example.com.\n$TTL 60\n$INCLUDE sub.zone sub\nafter A 192.0.2.10\n";
  auto records = parse_zone_file(dir / "main.zone", {});
  EXPECT_THAT(texts(records), testing::ElementsAre("host.sub.example.com. 60 IN A 192.0.2.9",
                                                   "after.example.com. 60 IN A 192.0.2.10"));
  ZoneParseOptions no_include;
  no_include.allow_include = false;
  EXPECT_THROW(parse_zone_file(dir / "main.zone", no_include), ZoneError);
  std::ofstream(dir / "loop.zone") << "$INCLUDE loop.zone\n";
  try {
    parse_zone_file(dir / "loop.zone", {});
    ADD_FAILURE() << "include loop accepted";
  } catch (const ZoneError& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("nested too deeply"));
  }
  std::filesystem::remove_all(dir);
}

TEST(ZoneParser, ErrorsSayWhereAndWhat) {
  ZoneParseOptions o;
  o.origin = N("example.com");
  o.default_ttl = 60;
  EXPECT_EQ(error_of("a A 192.0.2.1\nb A 300.1.1.1\n", o),
            "test.zone:2: A: '300.1.1.1' is not an IPv4 address");
  EXPECT_EQ(error_of("\n\na MX 10\n", o), "test.zone:3: MX: missing exchange field");
  EXPECT_EQ(error_of("a FOO 1\n", o), "test.zone:1: unknown type or class 'FOO'");
  EXPECT_EQ(error_of("a..b A 192.0.2.1\n", o), "test.zone:1: invalid name 'a..b': empty label");
  EXPECT_EQ(error_of("a SOA ( ns hm 1 2 3 4\n", o), "test.zone:1: '(' not closed before the end of the file");
  EXPECT_EQ(error_of("a TXT \"open\n", o), "test.zone:1: unterminated quoted string");
  EXPECT_EQ(error_of("$FOO x\n", o), "test.zone:1: unknown directive '$FOO'");
  EXPECT_EQ(error_of("$GENERATE 1-2 a A 1.2.3.$\n", o), "test.zone:1: $GENERATE is not supported");
  EXPECT_EQ(error_of("  A 192.0.2.1\n", o),
            "test.zone:1: no owner name and no previous record to take it from");
  EXPECT_EQ(error_of("a A 192.0.2.1 extra\n", o), "test.zone:1: A: unexpected 'extra' after the RDATA");
  EXPECT_EQ(error_of("a CH A 192.0.2.1\n", o), "test.zone:1: class CH does not match the zone's class IN");
  EXPECT_EQ(error_of("a AXFR \\# 0\n", o), "test.zone:1: AXFR is not a record type for zone data");
  EXPECT_EQ(error_of("a 1x A 192.0.2.1\n", o), "test.zone:1: invalid TTL '1x'");
}

// RDATA is at most 65535 octets, which in text is at most a few hundred KB
// (hex, or \DDD escapes); a zone entry (a line, or a record in parentheses
// with its comments) may be 1 MiB, and a longer one is an error at its first
// line rather than memory spent on it.
TEST(ZoneParser, AnEntryOverOneMebibyteIsRefusedWhereItStarts) {
  ZoneParseOptions o;
  o.origin = N("example.com");
  o.default_ttl = 60;
  std::string big = "big TXT (";
  for (int i = 0; i < 250; ++i) big += "\n  \"" + std::string(255, 'a') + "\" ; string " + std::to_string(i);
  big += "\n)\n";
  auto records = parse_zone(big, o);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].rdata.size(), 64000u);

  const std::string kTooLong = "record or line longer than 1 MiB (1048576 bytes)";
  EXPECT_EQ(error_of("a A 192.0.2.1\nb TXT \"" + std::string(2 << 20, 'x') + "\"\n", o),
            "test.zone:2: " + kTooLong);
  EXPECT_EQ(error_of("a A 192.0.2.1\n; " + std::string(2 << 20, 'x') + "\nb A 192.0.2.2\n", o),
            "test.zone:2: " + kTooLong);
  std::string multi = "a A 192.0.2.1\nb TXT ( \"x\"\n";
  for (int i = 0; i < 20000; ++i) multi += "  ; " + std::string(60, 'c') + "\n";
  multi += ")\n";
  EXPECT_EQ(error_of(multi, o), "test.zone:2: " + kTooLong);
}

// Bytes this process has read with read(2) so far.
std::uint64_t bytes_read() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "rchar:") return value;
  }
  return 0;
}

TEST(ZoneParser, AFileIsReadPieceByPieceSoAHugeLineCostsOnlyTheLimit) {
  auto dir = std::filesystem::temp_directory_path() / ("basalt_zone_big_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "big.zone");
    f << "$ORIGIN example.com.\n$TTL 60\n@ TXT \"";
  }
  // 64 MiB without a newline (sparse: nothing is written to disk).
  std::filesystem::resize_file(dir / "big.zone", std::uintmax_t{64} << 20);
  auto before = bytes_read();
  try {
    parse_zone_file(dir / "big.zone", {});
    ADD_FAILURE() << "a 64 MiB line was accepted";
  } catch (const ZoneError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "big.zone").string() + ":3: record or line longer than 1 MiB (1048576 bytes)");
  }
  EXPECT_LT(bytes_read() - before, std::uint64_t{4} << 20);
  std::filesystem::remove_all(dir);
}

// FIFOs, devices and directories are refused for zone files and $INCLUDE
// targets (a FIFO would hang the start, /dev/zero grow it without end).
TEST(ZoneParser, OnlyRegularFilesAreRead) {
  auto dir = std::filesystem::temp_directory_path() / ("basalt_zone_files_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub.d");
  auto error_of_file = [](const std::filesystem::path& path) -> std::string {
    try {
      parse_zone_file(path, {});
    } catch (const ZoneError& e) {
      return e.what();
    }
    return "no error";
  };
  // First a directory: without the check the test stops here rather than
  // hanging on the FIFO.
  ASSERT_EQ(error_of_file(dir / "sub.d"),
            (dir / "sub.d").string() + ": cannot read the file: not a regular file (a directory)");
  ASSERT_EQ(::mkfifo((dir / "fifo.zone").c_str(), 0600), 0);
  EXPECT_EQ(error_of_file(dir / "fifo.zone"),
            (dir / "fifo.zone").string() + ": cannot read the file: not a regular file (a FIFO)");
  EXPECT_EQ(error_of_file("/dev/zero"),
            "/dev/zero: cannot read the file: not a regular file (a character device)");
  EXPECT_EQ(error_of_file(dir / "missing.zone"),
            (dir / "missing.zone").string() + ": cannot read the file: No such file or directory");

  for (std::string target : {"/dev/zero", "fifo.zone", "sub.d", "missing.zone"}) {
    std::ofstream(dir / "main.zone") << "$ORIGIN example.com.\n$TTL 60\n$INCLUDE " << target << "\n";
    std::string resolved = target.front() == '/' ? target : (dir / target).string();
    std::string reason = target == "/dev/zero"   ? "not a regular file (a character device)"
                         : target == "fifo.zone" ? "not a regular file (a FIFO)"
                         : target == "sub.d"     ? "not a regular file (a directory)"
                                                 : "No such file or directory";
    EXPECT_EQ(error_of_file(dir / "main.zone"),
              (dir / "main.zone").string() + ":3: cannot read $INCLUDE file \"" + resolved + "\": " + reason);
  }
  std::filesystem::remove_all(dir);
}

TEST(ZoneParser, TheEntryLimitIsAnOption) {
  ZoneParseOptions o;
  o.origin = N("example.com");
  o.default_ttl = 60;
  o.max_entry_size = 64;
  EXPECT_EQ(error_of("a TXT \"" + std::string(80, 'x') + "\"\n", o),
            "test.zone:1: record or line longer than 64 bytes");
  EXPECT_EQ(parse_zone("a TXT \"" + std::string(50, 'x') + "\"\n", o).size(), 1u);
}

// A file is read in pieces of 64 KiB; entries that straddle two pieces
// (escapes, quotes, parentheses) parse exactly as in memory, and each record
// is passed on with the line it starts on.
TEST(ZoneParser, AFileParsesExactlyAsItsText) {
  std::string text = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hm ( 1 2\n 3 4 5 )\n";
  for (int i = 0; text.size() < 400'000; ++i) {
    auto n = std::to_string(i);
    text += "h" + n + " A 192.0.2." + std::to_string(i % 250) + "\n";
    text += "t" + n + " TXT \"a\\\"b\\\\c\\059" + n + "\" ( \"second\" ; comment\n  third )\n";
    text += "e\\." + n + " MX 10 mail" + n + "\n";
  }
  auto dir = std::filesystem::temp_directory_path() / ("basalt_zone_same_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "z.zone") << text;
  auto in_memory = parse_zone(text, {});
  std::vector<Record> from_file;
  std::vector<std::size_t> lines;
  parse_zone_file(dir / "z.zone", {}, [&](Record&& r, const ZonePosition& where) {
    EXPECT_EQ(where.file, (dir / "z.zone").string());
    lines.push_back(where.line);
    from_file.push_back(std::move(r));
  });
  ASSERT_EQ(from_file.size(), in_memory.size());
  for (std::size_t i = 0; i < from_file.size(); ++i) ASSERT_EQ(from_file[i], in_memory[i]) << i;
  EXPECT_EQ(lines[0], 3u);  // the SOA, opened on line 3
  EXPECT_EQ(lines[1], 5u);
  EXPECT_EQ(lines[2], 6u);
  EXPECT_EQ(lines[3], 8u);
  std::filesystem::remove_all(dir);
}

TEST(ZoneParser, PrintedRecordsParseBack) {
  ZoneParseOptions o;
  o.origin = N("example.com");
  o.default_ttl = 300;
  constexpr std::string_view kZone = R"(
@ DNSKEY 257 3 13 ( mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+
                    KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )
@ DS 60485 5 1 ( 2BB183AF5F22588179A5
                 3B0A98631FAD1A292118 )
@ RRSIG A 13 2 3600 20240201000000 20240101000000 12345 example.com. AAECAwQ=
@ NSEC www A AAAA RRSIG NSEC TYPE1234
@ NSEC3 1 1 10 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG
@ NSEC3PARAM 1 0 0 -
@ HTTPS 1 . alpn="h2,h3" port=443 ipv6hint=2001:db8::1 key65000="x y"
@ SVCB 0 target
@ TLSA 3 1 1 0123456789abcdef
@ SSHFP 4 2 0123456789ABCDEF
@ HINFO PC "Linux 6"
@ NAPTR 100 10 U E2U+sip "!^.*$!sip:info@example.com!" .
@ URI 10 1 "https://example.com/"
@ DNAME example.net.
@ PTR host
)";
  auto records = parse_zone(kZone, o);
  ASSERT_EQ(records.size(), 15u);
  for (const auto& r : records) {
    auto again = parse_zone(r.to_text() + "\n", o);
    ASSERT_EQ(again.size(), 1u) << r.to_text();
    EXPECT_EQ(again[0], r) << r.to_text();
  }
  EXPECT_EQ(records[6].to_text(),
            "example.com. 300 IN HTTPS 1 . alpn=h2,h3 port=443 ipv6hint=2001:db8::1 key65000=x\\032y");
  EXPECT_EQ(records[4].to_text(),
            "example.com. 300 IN NSEC3 1 1 10 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG");
}

}  // namespace
}  // namespace basalt::dns
