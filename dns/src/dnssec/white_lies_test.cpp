#include "basalt/dns/dnssec/white_lies.hpp"

#include <gtest/gtest.h>

#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

Name N(std::string_view s) {
  return *Name::from_text(s);
}

// Every name the NSEC covering `name` covers must be `name` or below it;
// names around it stay outside.
void expect_tight_cover(const Name& name) {
  auto before = white_lie_predecessor(name);
  ASSERT_TRUE(before) << name.to_string();
  Name after = white_lie_successor(name);
  EXPECT_LT(*before, name) << before->to_string() << " / " << name.to_string();
  EXPECT_GT(after, name) << after.to_string() << " / " << name.to_string();
  EXPECT_EQ(after.parent(), name.parent())
      << after.to_string();  // siblings: validators find the right encloser
  // The subtree of `name` is covered, its parent and the parent's other children not.
  if (auto child = name.prepend("zzz")) {
    EXPECT_LT(*child, after);
    EXPECT_GT(*child, *before);
  }
  if (auto last = name.prepend(std::string(1, '\xff'))) {
    EXPECT_LT(*last, after);
  }
  EXPECT_LT(name.parent(), *before);
}

TEST(WhiteLies, CoverOnlyTheNameAndItsSubtree) {
  for (auto n : {"b.example.test.", "www.example.test.", "a.example.test.", "*.example.test.",
                 "x.y.z.example.test.", "Mixed-Case.Example.TEST.", "0.example.test.", "-.example.test."}) {
    expect_tight_cover(N(n));
  }
}

TEST(WhiteLies, NeighboursOfCoverAreWhereTheyShouldBe) {
  EXPECT_EQ(white_lie_predecessor(N("b.example.test."))->to_string(), "a\\255.example.test.");
  EXPECT_EQ(white_lie_successor(N("b.example.test.")).to_string(), "b\\000.example.test.");
  // Case does not matter: canonical order is on lowercase names.
  EXPECT_EQ(white_lie_predecessor(N("B.Example.Test."))->to_string(), "a\\255.example.test.");
  EXPECT_EQ(white_lie_child(N("WWW.example.test.")).to_string(), "\\000.www.example.test.");
}

TEST(WhiteLies, OctetsThatSortAsLettersAreSteppedOver) {
  // '[' follows 'Z' in ASCII, but 'Z' sorts as 'z', after '['.
  auto before = white_lie_predecessor(N("a\\[.example.test."));
  ASSERT_TRUE(before);
  EXPECT_LT(*before, N("a\\[.example.test."));
  EXPECT_EQ(before->to_string(), "a\\@\\255.example.test.");
}

TEST(WhiteLies, NamesAtTheLimits) {
  std::string label63(63, 'q');
  expect_tight_cover(N(label63.append(".example.test.")));
  // A name of 255 octets: nothing can be appended.
  std::string longest;
  for (auto [c, n] : {std::pair{'a', 63}, {'b', 63}, {'c', 63}, {'d', 61}}) longest.append(n, c).append(".");
  ASSERT_EQ(N(longest).wire_size(), 255u);
  auto before = white_lie_predecessor(N(longest));
  ASSERT_TRUE(before);
  EXPECT_LT(*before, N(longest));
  EXPECT_GT(white_lie_successor(N(longest)), N(longest));
  // A first label ending in \000 follows its shorter sibling's subtree.
  expect_tight_cover(N("b\\000.example.test."));
  EXPECT_FALSE(white_lie_predecessor(N("\\000.example.test.")));
}

TEST(WhiteLies, NsecRdataHasASortedUniqueBitmap) {
  auto rd = nsec_rdata(N("\\000.www.example.test."), {RRType::kNSEC, RRType::kA, RRType::kRRSIG, RRType::kA});
  auto nsec = rdata::NSEC::decode(rd);
  ASSERT_TRUE(nsec);
  EXPECT_EQ(nsec->next.to_string(), "\\000.www.example.test.");
  EXPECT_EQ(nsec->types.types, (std::vector<RRType>{RRType::kA, RRType::kRRSIG, RRType::kNSEC}));
}

}  // namespace
}  // namespace basalt::dns
