#include "basalt/core/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <cmath>
#include <regex>
#include <sstream>

#include "basalt/core/file.hpp"

namespace basalt::core::config {

Error::Error(std::string path, std::string message)
    : std::runtime_error(path.empty() ? message : path + ": " + message),
      path_(std::move(path)),
      message_(std::move(message)) {}

std::string Node::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

std::string Node::index_path(std::size_t index) const {
  return fmt::format("{}[{}]", path_, index);
}

void Node::fail(std::string_view reason) const {
  throw Error(path_, fmt::format("{} {}", render(*value_), reason));
}

void Node::fail_at(std::string_view key, std::string_view reason) const {
  throw Error(child_path(key), std::string(reason));
}

std::string render(const boost::json::value& v) {
  constexpr std::size_t kMax = 80;
  std::string text = v.is_object() ? "an object" : v.is_array() ? "a list" : boost::json::serialize(v);
  if (text.size() > kMax) {
    text.resize(kMax - 3);
    text.append("...");
  }
  return text;
}

std::string camel_case(std::string_view snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

namespace detail {

void fail_unknown_key(const Node& node, std::string_view key, const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw Error(node.child_path(key), fmt::format("unknown key (allowed: {})", list));
}

const boost::json::object& expect_object(const Node& node) {
  if (!node.value().is_object()) node.fail("is not a mapping of keys to values");
  return node.value().get_object();
}

const boost::json::array& expect_array(const Node& node) {
  if (!node.value().is_array()) node.fail("is not a list");
  return node.value().get_array();
}

bool integer_in_range(const boost::json::value& v, long double min, long double max, std::int64_t& out_signed,
                      std::uint64_t& out_unsigned) {
  long double x = 0;
  if (v.is_int64())
    x = static_cast<long double>(v.get_int64());
  else if (v.is_uint64())
    x = static_cast<long double>(v.get_uint64());
  else
    return false;  // floats and strings are not integers, even 5.0 or "5"
  if (x < min || x > max) return false;
  if (v.is_int64()) {
    out_signed = v.get_int64();
    out_unsigned = static_cast<std::uint64_t>(v.get_int64());
  } else {
    out_unsigned = v.get_uint64();
    out_signed = static_cast<std::int64_t>(v.get_uint64());
  }
  return true;
}

}  // namespace detail

namespace {

std::string mark_path(std::string_view source, const YAML::Mark& mark) {
  if (mark.is_null()) return std::string(source);
  return fmt::format("{}:{}:{}", source, mark.line + 1, mark.column + 1);
}

// YAML 1.2 core schema resolution of a plain (unquoted) scalar.
boost::json::value resolve_plain(const std::string& s) {
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kHex(R"(0x[0-9a-fA-F]+)");
  static const std::regex kOct(R"(0o[0-7]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  try {
    if (std::regex_match(s, kInt)) {
      if (s[0] == '-') return std::stoll(s);
      auto u = std::stoull(s[0] == '+' ? s.substr(1) : s);
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(u);
      return u;
    }
    if (std::regex_match(s, kHex)) return static_cast<std::int64_t>(std::stoll(s.substr(2), nullptr, 16));
    if (std::regex_match(s, kOct)) return static_cast<std::int64_t>(std::stoll(s.substr(2), nullptr, 8));
    if (std::regex_match(s, kFloat)) return std::stod(s);
  } catch (const std::out_of_range&) {
    return boost::json::string(
        s);  // too large for a number: keep the text, the codec will say what it wanted
  }
  if (s == ".inf" || s == "+.inf") return HUGE_VAL;
  if (s == "-.inf") return -HUGE_VAL;
  return boost::json::string(s);
}

// yaml-cpp copies an aliased node wherever the alias is used, so a few lines
// of aliases of aliases make a tree of billions of values ("billion laughs").
// basalt configs have no use for anchors and aliases: this pass over the
// parser's events refuses the first one, naming where it is, before any tree
// is built.
class RefuseAnchors : public YAML::EventHandler {
 public:
  explicit RefuseAnchors(std::string_view source) : source_(source) {}
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { check(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw Error(mark_path(source_, mark), std::string("a YAML alias (*name) is ") + kWhy);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    check(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    check(mark, anchor);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    check(mark, anchor);
  }
  void OnMapEnd() override {}
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    throw Error(mark_path(source_, mark), fmt::format("YAML anchor &{} is {}", name, kWhy));
  }

 private:
  static constexpr const char* kWhy =
      "not supported: basalt configs take no anchors or aliases (write the value out)";
  void check(const YAML::Mark& mark, YAML::anchor_t anchor) const {
    if (anchor != YAML::NullAnchor)
      throw Error(mark_path(source_, mark), std::string("a YAML anchor is ") + kWhy);
  }
  std::string_view source_;
};

boost::json::value to_json(const YAML::Node& n, std::string_view source) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const auto& tag = n.Tag();
      if (tag == "?") return resolve_plain(n.Scalar());
      return boost::json::string(n.Scalar());  // quoted, or an explicit !!str
    }
    case YAML::NodeType::Sequence: {
      boost::json::array arr;
      for (const auto& item : n) arr.push_back(to_json(item, source));
      return arr;
    }
    case YAML::NodeType::Map: {
      boost::json::object obj;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          throw Error(mark_path(source, kv.first.Mark()), "a key must be a plain value");
        const auto& key = kv.first.Scalar();
        if (obj.contains(key))
          throw Error(mark_path(source, kv.first.Mark()), fmt::format("duplicate key \"{}\"", key));
        obj.emplace(key, to_json(kv.second, source));
      }
      return obj;
    }
  }
  return nullptr;
}

boost::json::value parse_json_text(std::string_view text, std::string_view source) {
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t used = parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < used && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw Error(fmt::format("{}:{}:{}", source, line, col), "invalid JSON: " + ec.message());
  }
  return parser.release();
}

}  // namespace

boost::json::value parse_yaml(std::string_view text, std::string_view source) {
  try {
    std::string copy(text);
    {
      std::istringstream in(copy);
      YAML::Parser parser(in);
      RefuseAnchors refuse(source);
      parser.HandleNextDocument(refuse);  // YAML::Load reads the first document too
    }
    return to_json(YAML::Load(copy), source);
  } catch (const YAML::Exception& e) {
    throw Error(mark_path(source, e.mark), "invalid YAML: " + e.msg);
  }
}

boost::json::value load_file(const std::string& path) {
  std::string reason;
  auto read = read_regular_file(path, kMaxConfigFileSize, &reason);
  if (!read) {
    if (reason.starts_with("larger than")) reason += ", the limit for a config file";
    throw Error(path, "cannot read the file: " + reason);
  }
  const std::string& text = *read;
  auto first = text.find_first_not_of(" \t\r\n");
  bool json = path.ends_with(".json") || (first != std::string::npos && text[first] == '{');
  auto tree = json ? parse_json_text(text, path) : parse_yaml(text, path);
  if (tree.is_null()) tree = boost::json::object();  // an empty file is an empty config
  return tree;
}

}  // namespace basalt::core::config
