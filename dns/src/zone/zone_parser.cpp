#include "basalt/dns/zone/zone_parser.hpp"

#include <fstream>
#include <sstream>

#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/ttl.hpp"

namespace basalt::dns {
namespace {

struct Token {
  std::string_view text;
  bool quoted = false;
  std::size_t line = 0;
};

// Splits zone text into logical lines (parentheses joined, comments dropped).
class Lexer {
 public:
  Lexer(std::string_view src, const std::string& file) : src_(src), file_(file) {}

  // Reads the next non-empty logical line. Returns false at end of input.
  bool next(std::vector<Token>& tokens, bool& leading_space, std::size_t& first_line) {
    tokens.clear();
    int depth = 0;
    std::size_t paren_line = line_;
    bool at_line_start = true;
    leading_space = false;
    first_line = line_;
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
        if (depth == 0) {
          if (!tokens.empty()) return true;
          // Empty or comment-only line: start over.
          at_line_start = true;
          leading_space = false;
          first_line = line_;
        }
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        if (at_line_start && tokens.empty() && depth == 0 && c != '\r') leading_space = true;
        ++pos_;
        continue;
      }
      at_line_start = false;
      if (c == ';') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
        continue;
      }
      if (c == '(') {
        if (depth++ == 0) paren_line = line_;
        ++pos_;
        continue;
      }
      if (c == ')') {
        if (--depth < 0) fail("unbalanced ')'");
        ++pos_;
        continue;
      }
      if (c == '"') {
        std::size_t start = ++pos_;
        std::size_t line = line_;
        while (pos_ < src_.size() && src_[pos_] != '"') {
          if (src_[pos_] == '\\') ++pos_;
          if (pos_ < src_.size() && src_[pos_] == '\n') ++line_;
          ++pos_;
        }
        if (pos_ >= src_.size()) fail_at(line, "unterminated quoted string");
        tokens.push_back({src_.substr(start, pos_ - start), true, line});
        ++pos_;
        continue;
      }
      std::size_t start = pos_;
      while (pos_ < src_.size()) {
        char ch = src_[pos_];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';' || ch == '(' || ch == ')') break;
        if (ch == '\\') {
          pos_ += 2;
          continue;
        }
        if (ch == '"') {  // key="value" stays one token (SVCB parameters)
          ++pos_;
          while (pos_ < src_.size() && src_[pos_] != '"' && src_[pos_] != '\n')
            pos_ += src_[pos_] == '\\' ? 2 : 1;
          if (pos_ >= src_.size() || src_[pos_] != '"') fail("unterminated quoted string");
        }
        ++pos_;
      }
      if (pos_ > src_.size()) pos_ = src_.size();
      tokens.push_back({src_.substr(start, pos_ - start), false, line_});
    }
    if (depth > 0) fail_at(paren_line, "'(' not closed before the end of the file");
    return !tokens.empty();
  }

  [[noreturn]] void fail(std::string message) const { fail_at(line_, std::move(message)); }
  [[noreturn]] void fail_at(std::size_t line, std::string message) const {
    throw ZoneError(file_, line, std::move(message));
  }

 private:
  std::string_view src_;
  const std::string& file_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

struct State {
  Name origin;
  std::optional<std::uint32_t> default_ttl;  // $TTL
  std::optional<std::uint32_t> last_ttl;
  std::optional<Name> last_owner;
  RRClass last_class;
};

std::string read_file(const std::filesystem::path& path, const std::string& from_file,
                      std::size_t from_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ZoneError(from_file, from_line, "cannot open '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void parse_text(std::string_view text, const ZoneParseOptions& options,
                const std::function<void(Record&&)>& emit, const std::string& file, State& state,
                std::size_t depth) {
  Lexer lexer(text, file);
  std::vector<Token> tokens;
  std::vector<TextToken> rdata_tokens;
  bool leading_space = false;
  std::size_t line = 0;
  while (lexer.next(tokens, leading_space, line)) {
    auto fail = [&](std::string message) { lexer.fail_at(line, std::move(message)); };
    auto parse_name = [&](const Token& t, const Name& origin) {
      if (t.text == "@" && !t.quoted) return origin;
      std::string_view why;
      auto n = Name::from_text(t.text, &origin, &why);
      if (!n) fail("invalid name '" + std::string(t.text) + "': " + std::string(why));
      return *n;
    };
    const Token& first = tokens[0];
    if (!leading_space && !first.quoted && !first.text.empty() && first.text[0] == '$') {
      std::string_view directive = first.text;
      if (directive == "$ORIGIN") {
        if (tokens.size() != 2) fail("$ORIGIN takes one name");
        state.origin = parse_name(tokens[1], state.origin);
      } else if (directive == "$TTL") {
        if (tokens.size() != 2) fail("$TTL takes one value");
        auto ttl = parse_ttl(tokens[1].text);
        if (!ttl) fail("invalid $TTL '" + std::string(tokens[1].text) + "'");
        state.default_ttl = *ttl;
      } else if (directive == "$INCLUDE") {
        if (!options.allow_include) fail("$INCLUDE is not allowed here");
        if (tokens.size() < 2 || tokens.size() > 3) fail("$INCLUDE takes a file name and an optional origin");
        if (depth >= options.max_include_depth) fail("$INCLUDE nested too deeply");
        std::filesystem::path path(std::string(tokens[1].text));
        if (path.is_relative()) path = std::filesystem::path(file).parent_path() / path;
        std::string content = read_file(path, file, line);
        // The included file starts with this origin (or the given one);
        // the including file's origin is restored afterwards (RFC 1035 §5.1).
        State inner = state;
        if (tokens.size() == 3) inner.origin = parse_name(tokens[2], state.origin);
        parse_text(content, options, emit, path.string(), inner, depth + 1);
        state.last_owner = inner.last_owner;
        state.last_ttl = inner.last_ttl;
        state.last_class = inner.last_class;
      } else if (directive == "$GENERATE") {
        fail("$GENERATE is not supported");
      } else {
        fail("unknown directive '" + std::string(directive) + "'");
      }
      continue;
    }

    std::size_t i = 0;
    Record record;
    if (leading_space) {
      if (!state.last_owner) fail("no owner name and no previous record to take it from");
      record.owner = *state.last_owner;
    } else {
      record.owner = parse_name(tokens[0], state.origin);
      i = 1;
    }
    std::optional<std::uint32_t> ttl;
    std::optional<RRClass> rclass;
    std::optional<RRType> type;
    for (; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      if (t.quoted) break;
      if (!ttl && !t.text.empty() && t.text[0] >= '0' && t.text[0] <= '9') {
        ttl = parse_ttl(t.text);
        if (!ttl) fail("invalid TTL '" + std::string(t.text) + "'");
        continue;
      }
      if (!rclass) {
        if (auto c = rr_class_from_string(t.text)) {
          rclass = c;
          continue;
        }
      }
      type = rr_type_from_string(t.text);
      if (!type) fail("unknown type or class '" + std::string(t.text) + "'");
      ++i;
      break;
    }
    if (!type) fail("missing record type");
    if (is_meta_type(*type)) fail(to_string(*type) + " is not a record type for zone data");
    record.type = *type;
    record.rclass = rclass.value_or(state.last_class);
    if (record.rclass != options.default_class)
      fail("class " + to_string(record.rclass) + " does not match the zone's class " +
           to_string(options.default_class));

    rdata_tokens.clear();
    for (; i < tokens.size(); ++i) rdata_tokens.push_back({tokens[i].text, tokens[i].quoted});
    std::string error;
    auto rdata = rdata_from_text(record.type, std::span<const TextToken>(rdata_tokens), state.origin, &error);
    if (!rdata) fail(to_string(record.type) + ": " + error);
    record.rdata = std::move(*rdata);

    if (ttl) {
      record.ttl = *ttl;
    } else if (state.default_ttl) {
      record.ttl = *state.default_ttl;
    } else if (state.last_ttl) {
      record.ttl = *state.last_ttl;
    } else if (record.type == RRType::kSOA) {
      // RFC 2308 §4 predecessor behaviour: the SOA MINIMUM field.
      const auto& d = record.rdata;
      record.ttl = (std::uint32_t{d[d.size() - 4]} << 24) | (std::uint32_t{d[d.size() - 3]} << 16) |
                   (std::uint32_t{d[d.size() - 2]} << 8) | d[d.size() - 1];
    } else {
      fail("no TTL given and no $TTL before this record");
    }
    state.last_owner = record.owner;
    state.last_ttl = record.ttl;
    state.last_class = record.rclass;
    emit(std::move(record));
  }
}

}  // namespace

void parse_zone(std::string_view text, const ZoneParseOptions& options,
                const std::function<void(Record&&)>& on_record, std::string_view file_name) {
  State state;
  state.origin = options.origin;
  state.default_ttl = options.default_ttl;
  state.last_class = options.default_class;
  parse_text(text, options, on_record, std::string(file_name), state, 0);
}

std::vector<Record> parse_zone(std::string_view text, const ZoneParseOptions& options,
                               std::string_view file_name) {
  std::vector<Record> records;
  parse_zone(
      text, options, [&](Record&& r) { records.push_back(std::move(r)); }, file_name);
  return records;
}

std::vector<Record> parse_zone_file(const std::filesystem::path& path, const ZoneParseOptions& options) {
  std::string content = read_file(path, path.string(), 0);
  return parse_zone(content, options, path.string());
}

}  // namespace basalt::dns
