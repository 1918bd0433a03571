// RFC 7807 problem documents as ACME servers send them (RFC 8555 §6.7), and
// the error the ACME client throws: it says which step the CA refused, the
// problem type, the CA's detail text and, for orders with several names, the
// subproblem of each identifier.
//
//   acme::Error: new-order refused by the CA (HTTP 400, rejectedIdentifier):
//     "Order included disallowed identifier"; *.bad.test: caa: "CAA forbids issuance"
//
// parse_problem() reads untrusted bytes and never throws. Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::acme {

struct Subproblem {
  std::string type;
  std::string detail;
  std::string identifier;  // the identifier's value, "*." prefixed for wildcards when known
};

struct Problem {
  std::string type;  // "urn:ietf:params:acme:error:badNonce", or "about:blank"
  std::string detail;
  int status = 0;  // the document's `status`, else the HTTP status
  std::vector<Subproblem> subproblems;

  // The part after "urn:ietf:params:acme:error:" ("badNonce"), else the whole type.
  std::string_view short_type() const noexcept;
  bool is(std::string_view acme_error) const noexcept { return short_type() == acme_error; }
  // `HTTP 400, rejectedIdentifier: "detail"; name: type: "detail"`.
  std::string to_string() const;
};

// Parses a problem document (any JSON object; missing members stay empty).
// nullopt if `body` is not a JSON object.
std::optional<Problem> parse_problem(std::string_view body, int http_status);

// Why an ACME operation failed. `step` names what was being done
// ("new-order", "authorization of example.com", "finalize"); problem() is
// the CA's problem document when it sent one (nullopt for transport errors,
// timeouts and local checks).
class Error : public std::runtime_error {
 public:
  Error(std::string step, std::string message, std::optional<Problem> problem = std::nullopt);
  const std::string& step() const noexcept { return step_; }
  const std::optional<Problem>& problem() const noexcept { return problem_; }
  // Set when the CA rate-limited us (429) and asked to wait this long.
  std::optional<std::chrono::seconds> retry_after;

 private:
  std::string step_;
  std::optional<Problem> problem_;
};

}  // namespace basalt::acme
