#include "basalt/dns/zone/zone_parser.hpp"

#include "basalt/core/file.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/ttl.hpp"
#include "zone/zone_source.hpp"

namespace basalt::dns {
namespace {

struct Token {
  std::string_view text;
  bool quoted = false;
  std::size_t line = 0;
};

// Splits zone text into entries — logical lines: parentheses joined,
// comments dropped — from a text in memory or from a source read piece by
// piece. A streamed source is held only from the start of the current entry,
// so memory is bounded by the longest entry, and no entry may be longer than
// `max_entry` bytes (counted from its first byte, comments and the lines of a
// parenthesised record included): the limit is checked as bytes arrive, so
// an endless line costs the limit, not the line.
class Lexer {
 public:
  Lexer(std::string_view text, const std::string& file, std::size_t max_entry)
      : src_(text), file_(file), max_entry_(max_entry) {}
  Lexer(const detail::ZoneByteSource& source, const std::string& file, std::size_t max_entry)
      : source_(&source), eof_(false), file_(file), max_entry_(max_entry) {}

  // Reads the next non-empty entry. Returns false at end of input. The
  // tokens' text stays valid until the next call.
  bool next(std::vector<Token>& tokens, bool& leading_space, std::size_t& first_line) {
    raw_.clear();
    start_ = pos_;
    entry_line_ = line_;
    int depth = 0;
    std::size_t paren_line = line_;
    bool at_line_start = true;
    leading_space = false;
    while (have(pos_)) {
      char c = at(pos_);
      if (c == '\n') {
        check_entry();
        ++line_;
        ++pos_;
        if (depth == 0) {
          if (!raw_.empty()) return finish(tokens, first_line);
          // Empty or comment-only line: start over.
          at_line_start = true;
          leading_space = false;
          start_ = pos_;
          entry_line_ = line_;
        }
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        if (at_line_start && raw_.empty() && depth == 0 && c != '\r') leading_space = true;
        ++pos_;
        continue;
      }
      at_line_start = false;
      if (c == ';') {
        while (have(pos_) && at(pos_) != '\n') ++pos_;
        check_entry();
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
        while (have(pos_) && at(pos_) != '"') {
          if (at(pos_) == '\\') ++pos_;
          if (have(pos_) && at(pos_) == '\n') ++line_;
          ++pos_;
        }
        if (!have(pos_)) fail_at(line, "unterminated quoted string");
        raw_.push_back({start, pos_ - start, true, line});
        ++pos_;
        check_entry();
        continue;
      }
      std::size_t start = pos_;
      while (have(pos_)) {
        char ch = at(pos_);
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';' || ch == '(' || ch == ')') break;
        if (ch == '\\') {
          pos_ += 2;
          continue;
        }
        if (ch == '"') {  // key="value" stays one token (SVCB parameters)
          ++pos_;
          while (have(pos_) && at(pos_) != '"' && at(pos_) != '\n') pos_ += at(pos_) == '\\' ? 2 : 1;
          if (!have(pos_) || at(pos_) != '"') fail("unterminated quoted string");
        }
        ++pos_;
      }
      if (pos_ > end()) pos_ = end();
      raw_.push_back({start, pos_ - start, false, line_});
      check_entry();
    }
    if (depth > 0) fail_at(paren_line, "'(' not closed before the end of the file");
    check_entry();
    return finish(tokens, first_line);
  }

  [[noreturn]] void fail(std::string message) const { fail_at(line_, std::move(message)); }
  [[noreturn]] void fail_at(std::size_t line, std::string message) const {
    throw ZoneError(file_, line, std::move(message));
  }

 private:
  static constexpr std::size_t kChunk = 64 * 1024;

  // A token as positions in the input, which stay valid while the buffer
  // is refilled; made into views when the entry is complete.
  struct RawToken {
    std::size_t begin, size;
    bool quoted;
    std::size_t line;
  };

  // Positions count from the start of the input; src_ holds the bytes from
  // base_ on.
  char at(std::size_t p) const { return src_[p - base_]; }
  std::size_t end() const { return base_ + src_.size(); }
  // Whether the byte at `p` exists, reading more of a streamed source if needed.
  bool have(std::size_t p) {
    while (p >= end()) {
      if (!refill()) return false;
    }
    return true;
  }

  bool refill() {
    if (!source_ || eof_) return false;
    // Everything read so far belongs to the current entry.
    if (end() - start_ > max_entry_) fail_at(entry_line_, too_long());
    if (start_ > base_) {  // what came before the entry is done with
      buffer_.erase(0, start_ - base_);
      base_ = start_;
    }
    std::size_t old = buffer_.size();
    buffer_.resize(old + kChunk);
    std::size_t n = (*source_)(buffer_.data() + old, kChunk);
    buffer_.resize(old + n);
    src_ = buffer_;
    if (n == 0) eof_ = true;
    return n > 0;
  }

  void check_entry() const {
    if (pos_ - start_ > max_entry_) fail_at(entry_line_, too_long());
  }
  std::string too_long() const {
    auto size = core::format_size(max_entry_);
    if (!size.ends_with("byte") && !size.ends_with("bytes"))
      size += " (" + std::to_string(max_entry_) + " bytes)";
    return "record or line longer than " + size;
  }

  bool finish(std::vector<Token>& tokens, std::size_t& first_line) const {
    tokens.clear();
    for (const auto& r : raw_) tokens.push_back({src_.substr(r.begin - base_, r.size), r.quoted, r.line});
    first_line = entry_line_;
    return !tokens.empty();
  }

  const detail::ZoneByteSource* source_ = nullptr;
  bool eof_ = true;
  std::string buffer_;
  std::string_view src_;
  std::size_t base_ = 0;   // the position of src_[0]
  std::size_t start_ = 0;  // where the current entry starts
  std::size_t entry_line_ = 1;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::vector<RawToken> raw_;
  const std::string& file_;
  std::size_t max_entry_;
};

struct State {
  Name origin;
  std::optional<std::uint32_t> default_ttl;  // $TTL
  std::optional<std::uint32_t> last_ttl;
  std::optional<Name> last_owner;
  RRClass last_class;
};

using Sink = std::function<void(Record&&, const ZonePosition&)>;

void parse_entries(Lexer& lexer, const ZoneParseOptions& options, const Sink& emit, const std::string& file,
                   State& state, std::size_t depth);

// A regular file as a ZoneByteSource; read errors name the file.
detail::ZoneByteSource file_source(core::InputFile& in, const std::string& file) {
  return [&in, &file](char* buffer, std::size_t size) {
    std::string reason;
    auto n = in.read(buffer, size, &reason);
    if (!n) throw ZoneError(file, 0, "cannot read the file: " + reason);
    return *n;
  };
}

// `from` and `line` say where the $INCLUDE is, for errors.
void parse_included(const std::filesystem::path& path, const ZoneParseOptions& options, const Sink& emit,
                    State& state, std::size_t depth, const Lexer& from, std::size_t line) {
  std::string reason;
  auto in = core::InputFile::open(path, &reason);
  if (!in) from.fail_at(line, "cannot read $INCLUDE file \"" + path.string() + "\": " + reason);
  const std::string name = path.string();
  auto source = file_source(*in, name);
  Lexer lexer(source, name, options.max_entry_size);
  parse_entries(lexer, options, emit, name, state, depth);
}

void parse_entries(Lexer& lexer, const ZoneParseOptions& options, const Sink& emit, const std::string& file,
                   State& state, std::size_t depth) {
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
        // The included file starts with this origin (or the given one);
        // the including file's origin is restored afterwards (RFC 1035 §5.1).
        State inner = state;
        if (tokens.size() == 3) inner.origin = parse_name(tokens[2], state.origin);
        parse_included(path, options, emit, inner, depth + 1, lexer, line);
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
    emit(std::move(record), ZonePosition{file, line});
  }
}

State initial_state(const ZoneParseOptions& options) {
  State state;
  state.origin = options.origin;
  state.default_ttl = options.default_ttl;
  state.last_class = options.default_class;
  return state;
}

}  // namespace

namespace detail {

void parse_zone_source(const ZoneByteSource& source, const ZoneParseOptions& options,
                       const std::function<void(Record&&, const ZonePosition&)>& on_record,
                       const std::string& file_name) {
  State state = initial_state(options);
  Lexer lexer(source, file_name, options.max_entry_size);
  parse_entries(lexer, options, on_record, file_name, state, 0);
}

}  // namespace detail

void parse_zone(std::string_view text, const ZoneParseOptions& options,
                const std::function<void(Record&&)>& on_record, std::string_view file_name) {
  State state = initial_state(options);
  const std::string file(file_name);
  Lexer lexer(text, file, options.max_entry_size);
  parse_entries(
      lexer, options, [&](Record&& r, const ZonePosition&) { on_record(std::move(r)); }, file, state, 0);
}

std::vector<Record> parse_zone(std::string_view text, const ZoneParseOptions& options,
                               std::string_view file_name) {
  std::vector<Record> records;
  parse_zone(
      text, options, [&](Record&& r) { records.push_back(std::move(r)); }, file_name);
  return records;
}

void parse_zone_file(const std::filesystem::path& path, const ZoneParseOptions& options,
                     const std::function<void(Record&&, const ZonePosition&)>& on_record) {
  const std::string name = path.string();
  std::string reason;
  auto in = core::InputFile::open(path, &reason);
  if (!in) throw ZoneError(name, 0, "cannot read the file: " + reason);
  detail::parse_zone_source(file_source(*in, name), options, on_record, name);
}

std::vector<Record> parse_zone_file(const std::filesystem::path& path, const ZoneParseOptions& options) {
  std::vector<Record> records;
  parse_zone_file(path, options, [&](Record&& r, const ZonePosition&) { records.push_back(std::move(r)); });
  return records;
}

}  // namespace basalt::dns
