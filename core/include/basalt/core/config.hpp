// Typed configuration from YAML or JSON, with errors that say exactly what
// was wrong and where.
//
// Describe a config struct with BOOST_DESCRIBE_STRUCT and decode it:
//
//   struct Transfer { std::vector<std::string> allow; };
//   BOOST_DESCRIBE_STRUCT(Transfer, (), (allow))
//   auto t = config::decode<Transfer>(config::load_file("basalt.yaml"));
//
// Keys are the member names (snake_case; specialise key_style<T> for
// camelCase protocols). Unknown keys are errors (DecodeOptions::unknown_keys
// collects them instead, for protocols whose newer peers may send options
// this version does not know); absent keys keep the member's default. Every error is a config::Error whose
// text names the key path, the bad value and what is allowed:
//   listen[1]: "127.0.0.1:70000" has no valid port (1-65535)
// The same decode() validates configs that arrive over the management
// protocol, so both paths accept and reject exactly the same input.
//
// Extending: specialise config::Codec<T> with `static void decode(const Node&,
// T&)` for a leaf type; give a struct a `void validate(const Node&) const`
// member for checks across fields. All functions are thread-safe and throw
// only config::Error.
#pragma once

#include "basalt/core/duration.hpp"

#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace basalt::core::config {

class Error : public std::runtime_error {
 public:
  Error(std::string path, std::string message);
  const std::string& path() const { return path_; }
  const std::string& message() const { return message_; }

 private:
  std::string path_;
  std::string message_;
};

// How decode() treats keys that no member of a struct has.
struct DecodeOptions {
  // Null: an unknown key is an error (config files, where it is a typo).
  // Otherwise each unknown key's path ("config.newOption") is appended here
  // and the key is skipped.
  std::vector<std::string>* unknown_keys = nullptr;
};

// A value in the config tree, with its key path ("zones[0].file").
class Node {
 public:
  using KeyOf = std::string (*)(std::string_view member);
  Node(const boost::json::value& value, std::string path, const DecodeOptions* options = nullptr,
       KeyOf key_of = nullptr)
      : value_(&value), path_(std::move(path)), options_(options), key_of_(key_of) {}

  const boost::json::value& value() const { return *value_; }
  const std::string& path() const { return path_; }
  // The key a member of the struct being validated has in this file: its
  // name, or what the struct's key_style / key_names make of it. validate()
  // members name keys through this, so a struct shared by daemons with
  // different key spellings reports each daemon's own keys.
  std::string key(std::string_view member) const { return key_of_ ? key_of_(member) : std::string(member); }
  std::string child_path(std::string_view key) const;
  std::string index_path(std::size_t index) const;
  // The same node as the struct `validate()` sees: keys named by `key_of`.
  Node with_keys(KeyOf key_of) const { return Node(*value_, path_, options_, key_of); }
  // The node of `value` under `key` / at `index`, with the same options.
  Node child(const boost::json::value& value, std::string_view key) const {
    return Node(value, child_path(key), options_);
  }
  Node element(const boost::json::value& value, std::size_t index) const {
    return Node(value, index_path(index), options_);
  }
  // Null: unknown keys are errors.
  std::vector<std::string>* unknown_keys() const { return options_ ? options_->unknown_keys : nullptr; }

  // An Error at this node: `<path>: <value> <reason>`.
  [[noreturn]] void fail(std::string_view reason) const;
  // An Error at a key under this node that may be absent: `<path>.<key>: <reason>`.
  [[noreturn]] void fail_at(std::string_view key, std::string_view reason) const;

 private:
  const boost::json::value* value_;
  std::string path_;
  const DecodeOptions* options_;
  KeyOf key_of_;
};

// The value as short text for messages: strings quoted, long values cut.
std::string render(const boost::json::value& v);

enum class KeyStyle { snake, camel };
template <class T>
inline constexpr KeyStyle key_style = KeyStyle::snake;
// Keys spelled otherwise than the style makes of the member name: a daemon
// that reads a shared struct (say service::AcmeConfig) under another
// product's names derives a struct from it and specialises this to return
// the key of a member ("" keeps the style's), e.g.
//   m == "cert_dir" ? "certificateStore" : "".
template <class T>
struct KeyNames {
  static constexpr std::string_view of(std::string_view) { return {}; }
};
// "udp_bind_interface" -> "udpBindInterface"
std::string camel_case(std::string_view snake);

template <class T, class Enable = void>
struct Codec;

template <class T>
void decode(const Node& node, T& out) {
  Codec<T>::decode(node, out);
}

template <class T>
T decode(const boost::json::value& value, std::string root_path = {}, const DecodeOptions& options = {}) {
  T out{};
  decode(Node(value, std::move(root_path), &options), out);
  return out;
}

// Parses YAML (a JSON document is valid YAML too) into a tree. Plain scalars
// become null, booleans, integers or floats when they look like one (YAML 1.2
// core schema); quoted scalars stay strings. Duplicate keys are errors, and
// so are anchors and aliases (`&name`, `*name`): an alias copies the node,
// so nested aliases would make a few lines into billions of values.
// Errors are config::Error with path "<source>:<line>:<column>".
boost::json::value parse_yaml(std::string_view text, std::string_view source = "config");
// The largest config file load_file() reads.
inline constexpr std::size_t kMaxConfigFileSize = std::size_t{16} << 20;
// Reads a YAML or JSON file: a regular file (a FIFO or device is refused
// rather than waited on) of at most kMaxConfigFileSize. Errors name the file.
boost::json::value load_file(const std::string& path);

// ---- codecs for the standard types -------------------------------------------

namespace detail {
[[noreturn]] void fail_unknown_key(const Node& node, std::string_view key,
                                   const std::vector<std::string>& allowed);
const boost::json::object& expect_object(const Node& node);
const boost::json::array& expect_array(const Node& node);
bool integer_in_range(const boost::json::value& v, long double min, long double max, std::int64_t& out_signed,
                      std::uint64_t& out_unsigned);
}  // namespace detail

template <>
struct Codec<bool> {
  static void decode(const Node& n, bool& out) {
    if (!n.value().is_bool()) n.fail("is not a boolean (true or false)");
    out = n.value().get_bool();
  }
};

template <>
struct Codec<std::string> {
  static void decode(const Node& n, std::string& out) {
    if (!n.value().is_string()) n.fail("is not a string");
    out = std::string(n.value().get_string());
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static void decode(const Node& n, T& out) {
    std::int64_t s = 0;
    std::uint64_t u = 0;
    constexpr auto lo = static_cast<long double>(std::numeric_limits<T>::min());
    constexpr auto hi = static_cast<long double>(std::numeric_limits<T>::max());
    if (!detail::integer_in_range(n.value(), lo, hi, s, u)) {
      n.fail("is not an integer between " + std::to_string(std::numeric_limits<T>::min()) + " and " +
             std::to_string(std::numeric_limits<T>::max()));
    }
    out = std::is_signed_v<T> ? static_cast<T>(s) : static_cast<T>(u);
  }
};

template <>
struct Codec<double> {
  static void decode(const Node& n, double& out) {
    const auto& v = n.value();
    if (v.is_double())
      out = v.get_double();
    else if (v.is_int64())
      out = static_cast<double>(v.get_int64());
    else if (v.is_uint64())
      out = static_cast<double>(v.get_uint64());
    else
      n.fail("is not a number");
  }
};

template <class Rep, class Period>
struct Codec<std::chrono::duration<Rep, Period>> {
  static void decode(const Node& n, std::chrono::duration<Rep, Period>& out) {
    std::optional<std::chrono::milliseconds> d;
    if (n.value().is_string()) d = parse_duration(n.value().get_string());
    if (!d) n.fail("is not " + std::string(kDurationHelp));
    out = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(*d);
  }
};

template <class T>
struct Codec<std::optional<T>> {
  static void decode(const Node& n, std::optional<T>& out) {
    if (n.value().is_null()) {
      out.reset();
      return;
    }
    T v{};
    config::decode(n, v);
    out = std::move(v);
  }
};

template <class T>
struct Codec<std::vector<T>> {
  static void decode(const Node& n, std::vector<T>& out) {
    const auto& arr = detail::expect_array(n);
    std::vector<T> result;
    result.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
      T v{};
      config::decode(n.element(arr[i], i), v);
      result.push_back(std::move(v));
    }
    out = std::move(result);
  }
};

template <class T>
struct Codec<std::map<std::string, T>> {
  static void decode(const Node& n, std::map<std::string, T>& out) {
    std::map<std::string, T> result;
    for (const auto& kv : detail::expect_object(n)) {
      T v{};
      config::decode(n.child(kv.value(), kv.key()), v);
      result.emplace(std::string(kv.key()), std::move(v));
    }
    out = std::move(result);
  }
};

// Described enums: the enumerator names are the accepted strings.
template <class E>
struct Codec<E, std::enable_if_t<boost::describe::has_describe_enumerators<E>::value>> {
  static void decode(const Node& n, E& out) {
    bool found = false;
    std::string allowed;
    if (n.value().is_string()) {
      std::string_view s = n.value().get_string();
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
        if (!found && s == d.name) {
          out = d.value;
          found = true;
        }
      });
    }
    if (found) return;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
      if (!allowed.empty()) allowed += ", ";
      allowed += d.name;
    });
    n.fail("is not one of: " + allowed);
  }
};

// Described structs: an object whose keys are the member names.
template <class T>
struct Codec<T, std::enable_if_t<boost::describe::has_describe_members<T>::value && !std::is_union_v<T>>> {
  using Members =
      boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>;

  static std::string key_of(std::string_view member) {
    if (auto key = KeyNames<T>::of(member); !key.empty()) return std::string(key);
    return key_style<T> == KeyStyle::camel ? camel_case(member) : std::string(member);
  }

  static void decode(const Node& n, T& out) {
    const auto& obj = detail::expect_object(n);
    T result = out;  // keep defaults; assign only on success
    for (const auto& kv : obj) {
      bool known = false;
      boost::mp11::mp_for_each<Members>([&](auto d) {
        if (!known && kv.key() == key_of(d.name)) {
          known = true;
          config::decode(n.child(kv.value(), kv.key()), result.*d.pointer);
        }
      });
      if (!known && n.unknown_keys()) {
        n.unknown_keys()->push_back(n.child_path(kv.key()));
      } else if (!known) {
        std::vector<std::string> allowed;
        boost::mp11::mp_for_each<Members>([&](auto d) { allowed.push_back(key_of(d.name)); });
        detail::fail_unknown_key(n, kv.key(), allowed);
      }
    }
    if constexpr (requires(const T& t) { t.validate(n); }) result.validate(n.with_keys(&key_of));
    out = std::move(result);
  }
};

}  // namespace basalt::core::config
