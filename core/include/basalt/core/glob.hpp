// Glob patterns with the semantics of the npm `minimatch` package (v10).
//
// Use this wherever a user writes a name pattern: DNS handler patterns such as
// `*.example.com`, route host patterns, file patterns. A pattern is compiled
// once with Glob::compile() and matched many times; matching never allocates,
// never throws and runs in O(pattern x subject) time in the worst case (no
// exponential backtracking). Supported syntax, as in minimatch with default
// options: `*` (any run of characters except `/`), `?` (one character except
// `/`), `[...]` classes with ranges, `!`/`^` negation and POSIX classes such
// as `[[:digit:]]`, `{a,b}` alternatives (nested), `{1..3}`/`{a..e}`
// sequences, `\` escapes, `**` as a whole path segment (any number of
// segments), a leading `!` negating the whole pattern and a leading `#` making
// the pattern a comment that matches nothing. minimatch's "dot rule" applies:
// a `.` at the start of a `/`-separated segment is only matched by a literal
// `.` in the pattern (so `*.example.com` matches `a.b.example.com` but not
// `.example.com`), unless GlobOptions::dot is set. Extglobs (`@(a|b)`,
// `+(..)`, `!(..)`, ...) are rejected at compile time. Matching works on bytes:
// `?` matches one byte, and case folding (GlobOptions::case_insensitive) is
// ASCII-only, which is exactly right for DNS names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::core {

struct GlobOptions {
  // ASCII case-insensitive matching (minimatch `nocase`). DNS servers want
  // this: queries may arrive in 0x20 mixed case.
  bool case_insensitive = false;
  // Let `*`, `?` and classes match a `.` at the start of a segment
  // (minimatch `dot`). `.` and `..` segments are still only matched literally.
  bool dot = false;
};

// A compiled glob pattern. Immutable after compile(); copyable; safe to share
// between threads and to call match() on concurrently.
class Glob {
 public:
  // Longest pattern accepted (as minimatch).
  static constexpr std::size_t kMaxPatternLength = 64 * 1024;
  // Most alternatives a pattern may expand to through `{...}`; `{a,b}{c,d}`
  // has 4. minimatch allows 100000, which would make matching slow.
  static constexpr std::size_t kMaxAlternatives = 4096;

  // Compiles `pattern`. Returns std::nullopt for a pattern that is too long,
  // uses extglob syntax or expands to too many alternatives; `error` (if
  // given) then receives the reason in a form that reads after the quoted
  // pattern, e.g. "uses extglob syntax '@(', which is not supported". Every
  // other string is a valid pattern (an unterminated `[` is a literal, as in
  // minimatch). Does not keep a reference to `pattern`.
  static std::optional<Glob> compile(std::string_view pattern, GlobOptions options = {},
                                     std::string* error = nullptr);

  // True if `subject` matches the whole pattern. Never allocates or throws.
  bool match(std::string_view subject) const noexcept;

  const std::string& pattern() const noexcept { return pattern_; }
  const GlobOptions& options() const noexcept { return options_; }
  // True if the pattern has no wildcard, class, brace set or globstar after
  // parsing, so that match() is a (possibly case-insensitive) string compare.
  bool is_literal() const noexcept { return literal_; }

  // Implementation details, public so the matcher can be a free function.
  struct Token {
    enum Kind : std::uint8_t { kLiteral, kAny, kStar, kClass };
    Kind kind;
    std::uint8_t byte;          // kLiteral: the byte (lowercased when case-insensitive)
    std::uint16_t class_index;  // kClass: index into classes_
  };
  struct Segment {
    enum Kind : std::uint8_t { kTokens, kGlobstar, kNever };
    Kind kind = kTokens;
    bool no_leading_dot = false;       // must not match a segment starting with '.'
    bool no_traversal = false;         // must not match "." or ".."
    bool non_empty = false;            // must match at least one byte
    std::uint32_t begin = 0, end = 0;  // token range
  };
  struct Alternative {
    std::uint32_t begin = 0, end = 0;  // segment range
  };
  struct ByteSet {
    std::uint64_t bits[4] = {};
    bool has(std::uint8_t c) const noexcept { return (bits[c >> 6] >> (c & 63)) & 1; }
    void add(std::uint8_t c) noexcept { bits[c >> 6] |= std::uint64_t{1} << (c & 63); }
  };

 private:
  Glob() = default;
  friend class GlobCompiler;

  std::string pattern_;
  GlobOptions options_;
  bool comment_ = false;  // "#..." matches nothing
  bool empty_ = false;    // "" matches only ""
  bool negate_ = false;
  bool literal_ = false;
  std::vector<Token> tokens_;
  std::vector<Segment> segments_;
  std::vector<Alternative> alternatives_;
  std::vector<ByteSet> classes_;
};

// Compiles and matches in one call; false if the pattern does not compile.
// Convenient for one-off checks; compile once for anything repeated.
bool glob_match(std::string_view pattern, std::string_view subject, GlobOptions options = {});

// Expands `{...}` alternatives and sequences the way minimatch does (npm
// `brace-expansion` v5, including its bash quirks), without glob parsing.
// Exposed for tests and tools. Returns std::nullopt when the expansion would
// exceed `max_results`.
std::optional<std::vector<std::string>> brace_expand(std::string_view pattern,
                                                     std::size_t max_results = Glob::kMaxAlternatives);

}  // namespace basalt::core
