#include "nftables/table_ownership.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

namespace basalt::proxy {
namespace {

TEST(TableOwnership, CommentFromTheListing) {
  EXPECT_EQ(TableOwnership::comment_of(
                "table inet basalt_proxy {\n\tcomment \"basalt-proxy pid=42\"\n\tchain x {\n"),
            "basalt-proxy pid=42");
  EXPECT_EQ(TableOwnership::comment_of("table inet other {\n\tchain x {\n\t\tcomment \"basalt-proxy\"\n"),
            "");
  EXPECT_EQ(TableOwnership::comment_of("table inet empty {\n}\n"), "");
  EXPECT_EQ(TableOwnership::comment_of(""), "");
  EXPECT_TRUE(TableOwnership::is_ours("basalt-proxy pid=1"));
  EXPECT_FALSE(TableOwnership::is_ours("firewalld"));
  EXPECT_TRUE(TableOwnership::is_this_process(TableOwnership::owner_comment()));
  EXPECT_FALSE(TableOwnership::is_this_process("basalt-proxy pid=0"));
}

TEST(TableOwnership, StateFileListsTheTables) {
  std::string dir = (std::filesystem::temp_directory_path() / "basalt-nft-owner-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  TableOwnership owner(std::filesystem::path(dir) / "state");
  EXPECT_TRUE(owner.listed().empty());
  owner.record({"basalt_proxy", "edge"});
  EXPECT_EQ(owner.listed(), (std::set<std::string>{"basalt_proxy", "edge"}));
  owner.record({});
  EXPECT_TRUE(owner.listed().empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace basalt::proxy
