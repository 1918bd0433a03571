#include "basalt/core/encoding.hpp"

#include <gtest/gtest.h>

namespace basalt::core {
namespace {

std::string str(const std::optional<std::vector<std::uint8_t>>& v) {
  return v ? std::string(v->begin(), v->end()) : std::string("<nullopt>");
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
    EXPECT_EQ(str(base64_decode(encoded)), plain);
  }
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(base64_decode("Zg="));  // wrong padding
  EXPECT_FALSE(base64_decode("Zg"));   // padding required by default
  EXPECT_TRUE(base64_decode("Zg", false));
  EXPECT_FALSE(base64_decode("Z==="));       // too much padding
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));  // whitespace
  EXPECT_FALSE(base64_decode("Zh=="));       // non-zero trailing bits
  EXPECT_FALSE(base64_decode("Zm-v"));       // url alphabet in std decoder
}

TEST(Base64Url, UnpaddedRoundTripOfAllByteValues) {
  std::vector<std::uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
  auto text = base64url_encode(all);
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
  auto back = base64url_decode(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
  EXPECT_EQ(base64url_encode(as_bytes("\xfb\xff"), true), "-_8=");
  EXPECT_EQ(str(base64url_decode("-_8=")), "\xfb\xff");
}

TEST(Hex, RoundTripAndErrors) {
  EXPECT_EQ(hex_encode(as_bytes("\x01\xab\xff")), "01abff");
  EXPECT_EQ(hex_encode(as_bytes("\x01\xab\xff"), true), "01ABFF");
  EXPECT_EQ(str(hex_decode("01AbfF")), "\x01\xab\xff");
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
}

}  // namespace
}  // namespace basalt::core
