#include "basalt/dns/wire/name.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "basalt/dns/wire/name_view.hpp"

namespace basalt::dns {
namespace {

Name N(std::string_view text) {
  return *Name::from_text(text);
}

std::vector<std::uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<std::uint8_t> out;
  for (int b : v) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

TEST(Name, ParsesAndPrintsPresentationForm) {
  EXPECT_EQ(N("www.example.com").to_string(), "www.example.com.");
  EXPECT_EQ(N("www.example.com.").to_string(), "www.example.com.");
  EXPECT_EQ(N(".").to_string(), ".");
  EXPECT_TRUE(N(".").is_root());
  EXPECT_EQ(N("www.example.com").label_count(), 3u);
  EXPECT_EQ(N("www.example.com").label(1), "example");
  EXPECT_EQ(N("www.example.com").wire_size(), 17u);
}

TEST(Name, EscapesRoundTrip) {
  Name n = N(R"(a\.b.c\\d.\000\255\032x.)");
  EXPECT_EQ(n.label_count(), 3u);
  EXPECT_EQ(n.label(0), "a.b");
  EXPECT_EQ(n.label(1), "c\\d");
  EXPECT_EQ(n.label(2), std::string_view("\0\xff x", 4));
  EXPECT_EQ(n.to_string(), R"(a\.b.c\\d.\000\255\032x.)");
  EXPECT_TRUE(Name::from_text(n.to_string())->identical(n));
  EXPECT_EQ(N(R"(\"\(\)\;\@\$.)").to_string(), R"(\"\(\)\;\@\$.)");
}

TEST(Name, RelativeNamesTakeTheOrigin) {
  Name origin = N("example.com.");
  EXPECT_EQ(Name::from_text("www", &origin)->to_string(), "www.example.com.");
  EXPECT_EQ(Name::from_text("www.", &origin)->to_string(), "www.");
}

TEST(Name, RejectsBadText) {
  std::string_view why;
  EXPECT_FALSE(Name::from_text("a..b", nullptr, &why));
  EXPECT_EQ(why, "empty label");
  EXPECT_FALSE(Name::from_text("", nullptr, &why));
  EXPECT_FALSE(Name::from_text(".a", nullptr, &why));
  EXPECT_FALSE(Name::from_text(std::string(64, 'a'), nullptr, &why));
  EXPECT_EQ(why, "label longer than 63 octets");
  EXPECT_TRUE(Name::from_text(std::string(63, 'a')));
  EXPECT_FALSE(Name::from_text(R"(a\256)", nullptr, &why));
  EXPECT_FALSE(Name::from_text(R"(a\25)", nullptr, &why));
  EXPECT_FALSE(Name::from_text("a\\", nullptr, &why));
  // 4 labels of 63 = 256 octets with the root: one too many.
  std::string l63(63, 'a');
  EXPECT_FALSE(Name::from_text(l63 + "." + l63 + "." + l63 + "." + l63, nullptr, &why));
  EXPECT_EQ(why, "name longer than 255 octets");
  std::string l61(61, 'a');
  auto max = Name::from_text(l63 + "." + l63 + "." + l63 + "." + l61);
  ASSERT_TRUE(max);
  EXPECT_EQ(max->wire_size(), 255u);
  Name origin = N(l63 + "." + l63 + "." + l63);
  EXPECT_FALSE(Name::from_text(l63, &origin));
}

TEST(Name, CaseInsensitiveEqualityKeepsOriginalBytes) {
  Name a = N("WwW.ExAmPlE.cOm"), b = N("www.example.com");
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.identical(b));
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.to_string(), "WwW.ExAmPlE.cOm.");
  EXPECT_TRUE(a.lowercased().identical(b));
  std::unordered_set<Name> set{a};
  EXPECT_TRUE(set.count(b));
  EXPECT_NE(N("example.com"), N("example.org"));
}

TEST(Name, CanonicalOrderFollowsRfc4034) {
  // RFC 4034 §6.1 example, in canonical order.
  std::vector<Name> expected = {N("example"),         N("a.example"),      N("yljkjljk.a.example"),
                                N("Z.a.example"),     N("zABC.a.EXAMPLE"), N("z.example"),
                                N("\\001.z.example"), N("*.z.example"),    N("\\200.z.example")};
  std::vector<Name> shuffled(expected.rbegin(), expected.rend());
  std::sort(shuffled.begin(), shuffled.end());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(shuffled[i].identical(expected[i])) << i;
}

TEST(Name, Hierarchy) {
  Name n = N("a.b.example.com");
  EXPECT_TRUE(n.is_subdomain_of(N("example.com")));
  EXPECT_TRUE(n.is_subdomain_of(N("EXAMPLE.com")));
  EXPECT_TRUE(n.is_subdomain_of(n));
  EXPECT_TRUE(n.is_subdomain_of(Name()));
  EXPECT_FALSE(n.is_subdomain_of(N("ample.com")));
  EXPECT_FALSE(N("com").is_subdomain_of(n));
  EXPECT_EQ(n.parent(), N("b.example.com"));
  EXPECT_EQ(n.parent(2), N("example.com"));
  EXPECT_TRUE(n.parent(10).is_root());
  EXPECT_EQ(N("example.com").prepend("*")->to_string(), "*.example.com.");
  EXPECT_TRUE(N("*.example.com").is_wildcard());
  EXPECT_EQ(N("www").concat(N("example.com"))->to_string(), "www.example.com.");
}

TEST(Name, DecodesCompressedNames) {
  // "example.com" at 0, "www" + pointer to 0 at 13.
  auto msg = bytes({7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 3, 'w', 'w', 'w', 0xC0, 0});
  Name n;
  std::size_t next = 0;
  ASSERT_EQ(decode_name(msg, 13, &n, &next), WireError::kOk);
  EXPECT_EQ(n.to_string(), "www.example.com.");
  EXPECT_EQ(next, msg.size());
  EXPECT_TRUE(NameView(msg, 13).equals(N("WWW.example.COM")));
  EXPECT_FALSE(NameView(msg, 13).equals(N("www.example.org")));
  EXPECT_TRUE(NameView(msg, 13).to_name().identical(n));
}

TEST(Name, RejectsHostileCompression) {
  Name n;
  std::size_t next;
  // Pointer to itself.
  EXPECT_EQ(decode_name(bytes({0xC0, 0}), 0, &n, &next), WireError::kBadPointer);
  // Forward pointer.
  EXPECT_EQ(decode_name(bytes({0xC0, 2, 0}), 0, &n, &next), WireError::kBadPointer);
  // Loop through two pointers: at 2 points to 0, at 0 points to 2.
  EXPECT_EQ(decode_name(bytes({0xC0, 2, 0xC0, 0}), 2, &n, &next), WireError::kBadPointer);
  // Label then pointer back to that label: a loop that grows the name.
  EXPECT_EQ(decode_name(bytes({1, 'a', 0xC0, 0}), 0, &n, &next), WireError::kBadPointer);
  // Out of bounds.
  EXPECT_EQ(decode_name(bytes({0xC0}), 0, &n, &next), WireError::kTruncated);
  EXPECT_EQ(decode_name(bytes({0, 0xC0, 9}), 1, &n, &next), WireError::kBadPointer);
  // A valid backward pointer to the root name at 0.
  EXPECT_EQ(decode_name(bytes({0, 0xC0, 0}), 1, &n, &next), WireError::kOk);
  EXPECT_TRUE(n.is_root());
  EXPECT_EQ(next, 3u);
}

TEST(Name, RejectsBadLabelsAndLength) {
  Name n;
  std::size_t next;
  EXPECT_EQ(decode_name(bytes({0x41, 'a', 0}), 0, &n, &next), WireError::kBadLabelType);
  EXPECT_EQ(decode_name(bytes({0x80, 0}), 0, &n, &next), WireError::kBadLabelType);
  EXPECT_EQ(decode_name(bytes({3, 'a', 'b'}), 0, &n, &next), WireError::kTruncated);
  EXPECT_EQ(decode_name(bytes({}), 0, &n, &next), WireError::kTruncated);
  // A chain of pointers each adding a 63-octet label: over 255 octets.
  std::vector<std::uint8_t> msg;
  msg.push_back(0);
  std::size_t prev = 0;
  for (int i = 0; i < 5; ++i) {
    std::size_t here = msg.size();
    msg.push_back(63);
    msg.insert(msg.end(), 63, 'x');
    msg.push_back(static_cast<std::uint8_t>(0xC0 | (prev >> 8)));
    msg.push_back(static_cast<std::uint8_t>(prev));
    prev = here;
  }
  EXPECT_EQ(decode_name(msg, prev, &n, &next), WireError::kNameTooLong);
  EXPECT_FALSE(Name::from_wire(bytes({64, 0})));
  EXPECT_FALSE(Name::from_wire(bytes({1, 'a'})));
  EXPECT_FALSE(Name::from_wire(bytes({0, 0})));
  EXPECT_TRUE(Name::from_wire(bytes({1, 'a', 0})));
}

}  // namespace
}  // namespace basalt::dns
