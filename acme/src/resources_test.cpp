#include "basalt/acme/resources.hpp"

#include <gtest/gtest.h>

#include <string>

namespace basalt::acme {
namespace {

// RFC 8555 §7.1.1.
constexpr std::string_view kRfcDirectory = R"({
  "newNonce": "https://example.com/acme/new-nonce",
  "newAccount": "https://example.com/acme/new-account",
  "newOrder": "https://example.com/acme/new-order",
  "newAuthz": "https://example.com/acme/new-authz",
  "revokeCert": "https://example.com/acme/revoke-cert",
  "keyChange": "https://example.com/acme/key-change",
  "meta": {
    "termsOfService": "https://example.com/acme/terms/2017-5-30",
    "website": "https://www.example.com/",
    "caaIdentities": ["example.com"],
    "externalAccountRequired": false
  }
})";

// RFC 8555 §7.1.2.
constexpr std::string_view kRfcAccount = R"({
  "status": "valid",
  "contact": [
    "mailto:cert-admin@example.org",
    "mailto:admin@example.org"
  ],
  "termsOfServiceAgreed": true,
  "orders": "https://example.com/acme/orders/rzGoeA"
})";

// RFC 8555 §7.1.3.
constexpr std::string_view kRfcOrder = R"({
  "status": "valid",
  "expires": "2016-01-20T14:09:07.99Z",

  "identifiers": [
    { "type": "dns", "value": "www.example.org" },
    { "type": "dns", "value": "example.org" }
  ],

  "notBefore": "2016-01-01T00:00:00Z",
  "notAfter": "2016-01-08T00:00:00Z",

  "authorizations": [
    "https://example.com/acme/authz/PAniVnsZcis",
    "https://example.com/acme/authz/r4HqLzrSrpI"
  ],

  "finalize": "https://example.com/acme/order/TOlocE8rfgo/finalize",

  "certificate": "https://example.com/acme/cert/mAt3xBGaobw"
})";

// RFC 8555 §7.1.4.
constexpr std::string_view kRfcAuthorization = R"({
  "status": "valid",
  "expires": "2015-03-01T14:09:07.99Z",

  "identifier": {
    "type": "dns",
    "value": "www.example.org"
  },

  "challenges": [
    {
      "url": "https://example.com/acme/chall/prV_B7yEyA4",
      "type": "http-01",
      "status": "valid",
      "token": "DGyRejmCefe7v4NfDGDKfA",
      "validated": "2014-12-01T12:05:58.16Z"
    }
  ],

  "wildcard": false
})";

// RFC 8555 §7.5.1, the challenge the server returns after the client's POST.
constexpr std::string_view kRfcChallenge = R"({
  "type": "http-01",
  "url": "https://example.com/acme/chall/prV_B7yEyA4",
  "status": "pending",
  "token": "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
})";

// `body` with the first occurrence of `from` replaced by `to`; fails the test
// if `from` is absent, so a typo cannot make a test pass vacuously.
std::string replaced(std::string_view body, std::string_view from, std::string_view to) {
  std::string out(body);
  const auto at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

// --- directory ----------------------------------------------------------------

TEST(Directory, ParsesRfcExample) {
  std::string error;
  auto d = parse_directory(kRfcDirectory, &error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->new_nonce, "https://example.com/acme/new-nonce");
  EXPECT_EQ(d->new_account, "https://example.com/acme/new-account");
  EXPECT_EQ(d->new_order, "https://example.com/acme/new-order");
  EXPECT_EQ(d->new_authz, "https://example.com/acme/new-authz");
  EXPECT_EQ(d->revoke_cert, "https://example.com/acme/revoke-cert");
  EXPECT_EQ(d->key_change, "https://example.com/acme/key-change");
  EXPECT_EQ(d->terms_of_service, "https://example.com/acme/terms/2017-5-30");
  EXPECT_FALSE(d->external_account_required);
}

TEST(Directory, ExternalAccountRequired) {
  auto d = parse_directory(
      replaced(kRfcDirectory, "\"externalAccountRequired\": false", "\"externalAccountRequired\": true"));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->external_account_required);
}

TEST(Directory, OnlyRequiredMembers) {
  std::string error;
  auto d = parse_directory(R"({"newNonce":"n","newAccount":"a","newOrder":"o"})", &error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->new_nonce, "n");
  EXPECT_EQ(d->new_authz, "");
  EXPECT_EQ(d->revoke_cert, "");
  EXPECT_EQ(d->key_change, "");
  EXPECT_EQ(d->terms_of_service, "");
  EXPECT_FALSE(d->external_account_required);
}

TEST(Directory, UnknownMembersAreIgnored) {
  // Let's Encrypt puts a random key into its directory; CAs add meta members.
  auto d =
      parse_directory(replaced(kRfcDirectory, "\"newNonce\"",
                               R"("x3Cf8qPz1": "https://community.letsencrypt.org/t/adding-random-entries",
                                       "renewalInfo": {"not": ["a", "string"]}, "newNonce")"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->new_nonce, "https://example.com/acme/new-nonce");
  auto meta =
      parse_directory(replaced(kRfcDirectory, "\"website\"", R"("profiles": {"classic": "x"}, "website")"));
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->terms_of_service, "https://example.com/acme/terms/2017-5-30");
}

TEST(Directory, MissingRequiredMemberIsNamed) {
  for (std::string_view member : {"newNonce", "newAccount", "newOrder"}) {
    std::string key = "\"";
    key.append(member).append("\"");
    std::string error;
    EXPECT_FALSE(parse_directory(replaced(kRfcDirectory, key, "\"renamed\""), &error)) << member;
    std::string expected = "directory: ";
    expected.append(key).append(" is missing");
    EXPECT_EQ(error, expected);
  }
}

TEST(Directory, MistypedMemberIsNamed) {
  std::string error;
  EXPECT_FALSE(
      parse_directory(replaced(kRfcDirectory, "\"https://example.com/acme/new-order\"", "17"), &error));
  EXPECT_EQ(error, "directory: \"newOrder\" is not a string");
  EXPECT_FALSE(
      parse_directory(replaced(kRfcDirectory, "\"https://example.com/acme/key-change\"", "null"), &error));
  EXPECT_EQ(error, "directory: \"keyChange\" is not a string");
  EXPECT_FALSE(parse_directory(R"({"newNonce":"n","newAccount":"a","newOrder":"o","meta":"x"})", &error));
  EXPECT_EQ(error, "directory: \"meta\" is not an object");
  EXPECT_FALSE(parse_directory(
      R"({"newNonce":"n","newAccount":"a","newOrder":"o","meta":{"termsOfService":["u"]}})", &error));
  EXPECT_EQ(error, "directory: \"termsOfService\" is not a string");
}

TEST(Directory, FirstProblemIsReported) {
  std::string error;
  EXPECT_FALSE(parse_directory(R"({"newNonce":1,"newOrder":"o"})", &error));
  EXPECT_EQ(error, "directory: \"newNonce\" is not a string");
}

TEST(Directory, NotAJsonObject) {
  std::string error;
  EXPECT_FALSE(parse_directory("<html>502 Bad Gateway</html>", &error));
  EXPECT_TRUE(error.starts_with("directory: the response is not JSON")) << error;
  EXPECT_FALSE(parse_directory("[\"newNonce\"]", &error));
  EXPECT_EQ(error, "directory: the response is not a JSON object");
  EXPECT_FALSE(parse_directory("", &error));
  EXPECT_TRUE(error.starts_with("directory: the response is not JSON")) << error;
  // Without an error string the answer is the same.
  EXPECT_FALSE(parse_directory("{}"));
  EXPECT_TRUE(parse_directory(kRfcDirectory));
}

// --- account --------------------------------------------------------------------

TEST(Account, ParsesRfcExample) {
  std::string error;
  auto a = parse_account(kRfcAccount, &error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->status, "valid");
}

TEST(Account, StatusIsRequired) {
  std::string error;
  EXPECT_FALSE(parse_account(R"({"contact":[]})", &error));
  EXPECT_EQ(error, "account: \"status\" is missing");
  EXPECT_FALSE(parse_account(R"({"status":true})", &error));
  EXPECT_EQ(error, "account: \"status\" is not a string");
  EXPECT_FALSE(parse_account("null", &error));
  EXPECT_EQ(error, "account: the response is not a JSON object");
}

// --- order ----------------------------------------------------------------------

TEST(Order, ParsesRfcExample) {
  std::string error;
  auto o = parse_order(kRfcOrder, &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->status, "valid");
  ASSERT_EQ(o->identifiers.size(), 2u);
  EXPECT_EQ(o->identifiers[0].type, "dns");
  EXPECT_EQ(o->identifiers[0].value, "www.example.org");
  EXPECT_EQ(o->identifiers[1].value, "example.org");
  ASSERT_EQ(o->authorizations.size(), 2u);
  EXPECT_EQ(o->authorizations[0], "https://example.com/acme/authz/PAniVnsZcis");
  EXPECT_EQ(o->authorizations[1], "https://example.com/acme/authz/r4HqLzrSrpI");
  EXPECT_EQ(o->finalize, "https://example.com/acme/order/TOlocE8rfgo/finalize");
  EXPECT_EQ(o->certificate, "https://example.com/acme/cert/mAt3xBGaobw");
  EXPECT_FALSE(o->error);
}

TEST(Order, CertificateIsOptionalUntilValid) {
  auto o = parse_order(replaced(kRfcOrder, "\"certificate\"", "\"x-certificate\""));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->certificate, "");
}

TEST(Order, InvalidOrderCarriesItsProblem) {
  auto o = parse_order(replaced(replaced(kRfcOrder, "\"status\": \"valid\"", "\"status\": \"invalid\""),
                                "\"expires\"",
                                R"("error": {"type": "urn:ietf:params:acme:error:unauthorized",
                                             "detail": "authorization failed", "status": 403,
                                             "subproblems": [{"type": "urn:ietf:params:acme:error:dns",
                                                              "detail": "no TXT record",
                                                              "identifier": {"type": "dns", "value": "example.org"}}]},
                                   "expires")"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, "invalid");
  ASSERT_TRUE(o->error);
  EXPECT_TRUE(o->error->is("unauthorized"));
  EXPECT_EQ(o->error->status, 403);
  EXPECT_EQ(o->error->to_string(),
            "HTTP 403, unauthorized: \"authorization failed\"; example.org: dns: \"no TXT record\"");
}

TEST(Order, ErrorThatIsNotAnObjectIsIgnored) {
  auto o = parse_order(replaced(kRfcOrder, "\"expires\"", R"("error": "oops", "expires")"));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->error);
}

TEST(Order, MissingRequiredMemberIsNamed) {
  for (std::string_view member : {"status", "identifiers", "authorizations", "finalize"}) {
    std::string key = "\"";
    key.append(member).append("\"");
    std::string error;
    EXPECT_FALSE(parse_order(replaced(kRfcOrder, key, "\"renamed\""), &error)) << member;
    std::string expected = "order: ";
    expected.append(key).append(" is missing");
    EXPECT_EQ(error, expected);
  }
}

TEST(Order, MistypedMembersAreNamed) {
  std::string error;
  EXPECT_FALSE(parse_order(replaced(kRfcOrder, "\"status\": \"valid\"", "\"status\": 1"), &error));
  EXPECT_EQ(error, "order: \"status\" is not a string");
  EXPECT_FALSE(
      parse_order(R"({"status":"pending","identifiers":{},"authorizations":[],"finalize":"f"})", &error));
  EXPECT_EQ(error, "order: \"identifiers\" is not an array");
  EXPECT_FALSE(
      parse_order(R"({"status":"pending","identifiers":[],"authorizations":"a","finalize":"f"})", &error));
  EXPECT_EQ(error, "order: \"authorizations\" is not an array");
  EXPECT_FALSE(parse_order(
      R"({"status":"pending","identifiers":["example.org"],"authorizations":[],"finalize":"f"})", &error));
  EXPECT_EQ(error, "order: an entry of \"identifiers\" is not an object");
  EXPECT_FALSE(
      parse_order(R"({"status":"pending","identifiers":[],"authorizations":[{}],"finalize":"f"})", &error));
  EXPECT_EQ(error, "order: an entry of \"authorizations\" is not a string");
  EXPECT_FALSE(
      parse_order(replaced(kRfcOrder, "\"value\": \"example.org\"", "\"name\": \"example.org\""), &error));
  EXPECT_EQ(error, "order: \"value\" is missing");
  EXPECT_FALSE(parse_order(
      replaced(kRfcOrder, "{ \"type\": \"dns\", \"value\": \"www", "{ \"type\": 0, \"value\": \"www"),
      &error));
  EXPECT_EQ(error, "order: \"type\" is not a string");
  EXPECT_FALSE(
      parse_order(replaced(kRfcOrder, "\"https://example.com/acme/cert/mAt3xBGaobw\"", "false"), &error));
  EXPECT_EQ(error, "order: \"certificate\" is not a string");
}

// --- authorization ------------------------------------------------------------------

TEST(Authorization, ParsesRfcExample) {
  std::string error;
  auto a = parse_authorization(kRfcAuthorization, &error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->status, "valid");
  EXPECT_EQ(a->identifier.type, "dns");
  EXPECT_EQ(a->identifier.value, "www.example.org");
  EXPECT_FALSE(a->wildcard);
  ASSERT_EQ(a->challenges.size(), 1u);
  const auto& c = a->challenges[0];
  EXPECT_EQ(c.type, "http-01");
  EXPECT_EQ(c.url, "https://example.com/acme/chall/prV_B7yEyA4");
  EXPECT_EQ(c.status, "valid");
  EXPECT_EQ(c.token, "DGyRejmCefe7v4NfDGDKfA");
  EXPECT_FALSE(c.error);
}

TEST(Authorization, WildcardFlag) {
  // §7.1.4: for "*.example.org" the identifier is "example.org" and wildcard is true.
  auto a =
      parse_authorization(replaced(replaced(kRfcAuthorization, "\"wildcard\": false", "\"wildcard\": true"),
                                   "\"www.example.org\"", "\"example.org\""));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->wildcard);
  EXPECT_EQ(a->identifier.value, "example.org");

  auto absent =
      parse_authorization(replaced(kRfcAuthorization, "\"wildcard\": false", "\"x-wildcard\": true"));
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->wildcard);
}

TEST(Authorization, SeveralChallengesAndUnknownTypes) {
  auto a = parse_authorization(R"({
    "status": "pending",
    "identifier": {"type": "dns", "value": "example.org"},
    "challenges": [
      {"type": "http-01", "url": "https://ca.test/c/1", "status": "pending", "token": "t1"},
      {"type": "dns-01", "url": "https://ca.test/c/2", "status": "pending", "token": "t2"},
      {"type": "tls-alpn-01", "url": "https://ca.test/c/3", "status": "pending", "token": "t3"},
      {"type": "onion-csr-01", "url": "https://ca.test/c/4", "status": "pending", "authKey": {"kty": "EC"}}
    ]
  })");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->challenges.size(), 4u);
  EXPECT_EQ(a->challenges[1].type, "dns-01");
  EXPECT_EQ(a->challenges[1].url, "https://ca.test/c/2");
  EXPECT_EQ(a->challenges[1].token, "t2");
  EXPECT_EQ(a->challenges[3].token, "");  // token is not required of every challenge type
}

TEST(Authorization, InvalidChallengeCarriesItsProblem) {
  auto a = parse_authorization(R"({
    "status": "invalid",
    "identifier": {"type": "dns", "value": "example.org"},
    "challenges": [{
      "type": "dns-01", "url": "https://ca.test/c/2", "status": "invalid", "token": "t2",
      "error": {"type": "urn:ietf:params:acme:error:dns",
                "detail": "No TXT record found at _acme-challenge.example.org", "status": 400}
    }]
  })");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->challenges.size(), 1u);
  ASSERT_TRUE(a->challenges[0].error);
  EXPECT_TRUE(a->challenges[0].error->is("dns"));
  EXPECT_EQ(a->challenges[0].error->detail, "No TXT record found at _acme-challenge.example.org");
  EXPECT_EQ(a->challenges[0].error->to_string(),
            "HTTP 400, dns: \"No TXT record found at _acme-challenge.example.org\"");
}

TEST(Authorization, MissingRequiredMemberIsNamed) {
  std::string error;
  for (std::string_view member : {"status", "identifier", "challenges"}) {
    std::string key = "\"";
    key.append(member).append("\"");
    EXPECT_FALSE(parse_authorization(replaced(kRfcAuthorization, key, "\"renamed\""), &error)) << member;
    std::string expected = "authorization: ";
    expected.append(key).append(" is missing");
    EXPECT_EQ(error, expected);
  }
  EXPECT_FALSE(parse_authorization(replaced(kRfcAuthorization, "\"value\"", "\"name\""), &error));
  EXPECT_EQ(error, "authorization: \"value\" is missing");
  EXPECT_FALSE(parse_authorization(replaced(kRfcAuthorization, "\"url\"", "\"uri\""), &error));
  EXPECT_EQ(error, "authorization: \"url\" is missing");
  EXPECT_FALSE(parse_authorization(
      replaced(kRfcAuthorization, "\"type\": \"http-01\"", "\"kind\": \"http-01\""), &error));
  EXPECT_EQ(error, "authorization: \"type\" is missing");
}

TEST(Authorization, MistypedMembersAreNamed) {
  std::string error;
  EXPECT_FALSE(parse_authorization(
      R"({"status":"pending","identifier":{"type":"dns","value":"a.test"},"challenges":{}})", &error));
  EXPECT_EQ(error, "authorization: \"challenges\" is not an array");
  EXPECT_FALSE(parse_authorization(
      R"({"status":"pending","identifier":{"type":"dns","value":"a.test"},"challenges":[[]]})", &error));
  EXPECT_EQ(error, "authorization: an entry of \"challenges\" is not an object");
  EXPECT_FALSE(parse_authorization(R"({"status":"pending","identifier":"a.test","challenges":[]})", &error));
  EXPECT_EQ(error, "authorization: \"identifier\" is not an object");
  EXPECT_FALSE(parse_authorization(replaced(kRfcAuthorization, "\"status\": \"valid\",\n  \"expires\"",
                                            "\"status\": [\"valid\"],\n  \"expires\""),
                                   &error));
  EXPECT_EQ(error, "authorization: \"status\" is not a string");
  EXPECT_FALSE(
      parse_authorization(replaced(kRfcAuthorization, "\"DGyRejmCefe7v4NfDGDKfA\"", "12345"), &error));
  EXPECT_EQ(error, "authorization: \"token\" is not a string");
}

TEST(Authorization, EmptyChallengeListIsAccepted) {
  // A valid authorization reused from an earlier order may list no challenges.
  auto a = parse_authorization(
      R"({"status":"valid","identifier":{"type":"dns","value":"a.test"},"challenges":[]})");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->challenges.empty());
}

// --- challenge --------------------------------------------------------------------

TEST(Challenge, ParsesRfcExample) {
  std::string error;
  auto c = parse_challenge(kRfcChallenge, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->type, "http-01");
  EXPECT_EQ(c->url, "https://example.com/acme/chall/prV_B7yEyA4");
  EXPECT_EQ(c->status, "pending");
  EXPECT_EQ(c->token, "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0");
  EXPECT_FALSE(c->error);
}

TEST(Challenge, ErrorProblem) {
  auto c = parse_challenge(replaced(replaced(kRfcChallenge, "\"pending\"", "\"invalid\""), "\"token\"",
                                    R"("error": {"type": "urn:ietf:params:acme:error:connection",
                                                 "detail": "Timeout during connect"}, "token")"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, "invalid");
  ASSERT_TRUE(c->error);
  EXPECT_EQ(c->error->short_type(), "connection");
  EXPECT_EQ(c->error->status, 0);  // no status in the document and no HTTP status of its own
  EXPECT_EQ(c->error->detail, "Timeout during connect");
}

TEST(Challenge, MissingAndMistypedMembersAreNamed) {
  std::string error;
  for (std::string_view member : {"type", "url", "status"}) {
    std::string key = "\"";
    key.append(member).append("\"");
    EXPECT_FALSE(parse_challenge(replaced(kRfcChallenge, key, "\"renamed\""), &error)) << member;
    std::string expected = "challenge: ";
    expected.append(key).append(" is missing");
    EXPECT_EQ(error, expected);
  }
  EXPECT_FALSE(parse_challenge(
      replaced(kRfcChallenge, "\"https://example.com/acme/chall/prV_B7yEyA4\"", "{}"), &error));
  EXPECT_EQ(error, "challenge: \"url\" is not a string");
  EXPECT_FALSE(parse_challenge("[]", &error));
  EXPECT_EQ(error, "challenge: the response is not a JSON object");
  EXPECT_FALSE(parse_challenge("{", &error));
  EXPECT_TRUE(error.starts_with("challenge: the response is not JSON")) << error;
}

TEST(Challenge, UnknownMembersAreIgnored) {
  auto c = parse_challenge(
      replaced(kRfcChallenge, "\"token\"",
               R"("validated": "2014-12-01T12:05:58.16Z", "validationRecord": [{"hostname": "x"}],
                                       "token")"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->token, "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0");
}

}  // namespace
}  // namespace basalt::acme
