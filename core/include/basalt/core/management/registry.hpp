// The commands a management server answers, added by the modules.
//
// A module registers each method once, before serving starts:
//
//   registry.add("ping", [](management::Call&) -> boost::asio::awaitable<boost::json::value> {
//     co_return boost::json::object{{"pong", true}};
//   });
//
// A handler runs as a coroutine on the server's io_context, so a slow command
// does not hold up others; its return value becomes `result`. A handler that
// throws answers `{"success": false, "error": what()}` — and must leave
// everything as it was (validate first, then change). Long operations send
// progress with call.stream(data).
//
// Thread-safety: add() before serving; find() is then safe from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::core::management {

// One request being answered.
class Call {
 public:
  virtual ~Call() = default;
  virtual const boost::json::value& id() const = 0;
  virtual const std::string& method() const = 0;
  virtual const boost::json::object& params() const = 0;
  // Sends a stream chunk `{"id", "stream": true, "data"}` to the caller now.
  virtual void stream(boost::json::value data) = 0;
};

using Handler = std::function<boost::asio::awaitable<boost::json::value>(Call&)>;

class Registry {
 public:
  Registry();

  // Adds a method. Throws std::invalid_argument if the name is taken.
  void add(std::string method, Handler handler);
  // For handlers that finish at once: the function's return value is the result.
  void add_sync(std::string method, std::function<boost::json::value(const boost::json::object& params)> fn);

  const Handler* find(std::string_view method) const;
  std::vector<std::string> methods() const;

 private:
  std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace basalt::core::management
