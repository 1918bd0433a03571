#include "basalt/acme/problem.hpp"

#include <gtest/gtest.h>

namespace basalt::acme {
namespace {

// RFC 8555 §6.7.1.
constexpr std::string_view kRfcSubproblems = R"({
    "type": "urn:ietf:params:acme:error:malformed",
    "detail": "Some of the identifiers requested were rejected",
    "subproblems": [
        {
            "type": "urn:ietf:params:acme:error:malformed",
            "detail": "Invalid underscore in DNS name \"_example.org\"",
            "identifier": {
                "type": "dns",
                "value": "_example.org"
            }
        },
        {
            "type": "urn:ietf:params:acme:error:rejectedIdentifier",
            "detail": "This CA will not issue for \"example.net\"",
            "identifier": {
                "type": "dns",
                "value": "example.net"
            }
        }
    ]
})";

TEST(Problem, ParsesRfcDocumentWithSubproblems) {
  auto p = parse_problem(kRfcSubproblems, 400);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "urn:ietf:params:acme:error:malformed");
  EXPECT_EQ(p->short_type(), "malformed");
  EXPECT_TRUE(p->is("malformed"));
  EXPECT_FALSE(p->is("rejectedIdentifier"));
  EXPECT_EQ(p->detail, "Some of the identifiers requested were rejected");
  EXPECT_EQ(p->status, 400);  // no `status` member: the HTTP status
  ASSERT_EQ(p->subproblems.size(), 2u);
  EXPECT_EQ(p->subproblems[0].type, "urn:ietf:params:acme:error:malformed");
  EXPECT_EQ(p->subproblems[0].detail, "Invalid underscore in DNS name \"_example.org\"");
  EXPECT_EQ(p->subproblems[0].identifier, "_example.org");
  EXPECT_EQ(p->subproblems[1].type, "urn:ietf:params:acme:error:rejectedIdentifier");
  EXPECT_EQ(p->subproblems[1].identifier, "example.net");
}

TEST(Problem, ToStringNamesStatusTypeDetailAndEachSubproblem) {
  auto p = parse_problem(kRfcSubproblems, 400);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(),
            "HTTP 400, malformed: \"Some of the identifiers requested were rejected\"; "
            "_example.org: malformed: \"Invalid underscore in DNS name \"_example.org\"\"; "
            "example.net: rejectedIdentifier: \"This CA will not issue for \"example.net\"\"");
}

TEST(Problem, ToStringOfSubproblemWithoutIdentifier) {
  auto p = parse_problem(R"({"type":"urn:ietf:params:acme:error:caa","detail":"outer",
      "subproblems":[{"type":"urn:ietf:params:acme:error:caa","detail":"CAA forbids issuance"}]})",
                         403);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->subproblems.size(), 1u);
  EXPECT_EQ(p->subproblems[0].identifier, "");
  EXPECT_EQ(p->to_string(), "HTTP 403, caa: \"outer\"; ?: caa: \"CAA forbids issuance\"");
}

TEST(Problem, StatusMemberOverridesHttpStatusWhenPlausible) {
  auto p = parse_problem(R"({"type":"urn:ietf:params:acme:error:badNonce","status":400})", 500);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 400);
  EXPECT_TRUE(p->is("badNonce"));
  EXPECT_EQ(p->to_string(), "HTTP 400, badNonce");

  for (std::string_view body :
       {R"({"status":99})", R"({"status":600})", R"({"status":"400"})", R"({"status":400.5})",
        R"({"status":-1})", R"({"status":99999999999999999999})"}) {
    auto q = parse_problem(body, 503);
    ASSERT_TRUE(q) << body;
    EXPECT_EQ(q->status, 503) << body;
  }
}

TEST(Problem, NonAcmeTypeIsKeptWhole) {
  auto p = parse_problem(R"({"type":"about:blank","detail":"Not Found"})", 404);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->short_type(), "about:blank");
  EXPECT_EQ(p->to_string(), "HTTP 404, about:blank: \"Not Found\"");
}

TEST(Problem, MissingAndMistypedMembersStayEmpty) {
  auto p = parse_problem(R"({"type":7,"detail":["x"],"subproblems":{"type":"x"},"extra":{"a":1}})", 400);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "");
  EXPECT_EQ(p->detail, "");
  EXPECT_TRUE(p->subproblems.empty());
  EXPECT_EQ(p->to_string(), "HTTP 400");

  auto empty = parse_problem("{}", 429);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->to_string(), "HTTP 429");
}

TEST(Problem, SubproblemEntriesThatAreNotObjectsAreSkipped) {
  auto p = parse_problem(
      R"({"subproblems":[1,"x",null,{"type":"urn:ietf:params:acme:error:dns","identifier":"a.test"},
          {"detail":"d","identifier":{"type":"dns","value":5}}]})",
      400);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->subproblems.size(), 2u);
  EXPECT_EQ(p->subproblems[0].type, "urn:ietf:params:acme:error:dns");
  EXPECT_EQ(p->subproblems[0].identifier, "");  // not an identifier object
  EXPECT_EQ(p->subproblems[1].detail, "d");
  EXPECT_EQ(p->subproblems[1].identifier, "");
}

TEST(Problem, NotAJsonObjectIsNullopt) {
  for (std::string_view body :
       {"", "not json", "[]", "\"text\"", "42", "null", "{\"type\":", "{} {}", "<html>Bad Gateway</html>"}) {
    EXPECT_FALSE(parse_problem(body, 502)) << body;
  }
}

TEST(Problem, ErrorCarriesStepAndProblem) {
  auto p = parse_problem(R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"no"})", 400);
  ASSERT_TRUE(p);
  Error e("new-order", p->to_string(), p);
  EXPECT_EQ(e.step(), "new-order");
  EXPECT_STREQ(e.what(), "new-order: HTTP 400, rejectedIdentifier: \"no\"");
  ASSERT_TRUE(e.problem());
  EXPECT_TRUE(e.problem()->is("rejectedIdentifier"));

  Error timeout("finalize", "timed out");
  EXPECT_FALSE(timeout.problem());
  EXPECT_FALSE(timeout.retry_after);
}

}  // namespace
}  // namespace basalt::acme
