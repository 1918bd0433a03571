#include "basalt/core/management/registry.hpp"

#include <stdexcept>

namespace basalt::core::management {

Registry::Registry() {
  // Every engine protocol of the smartrust family answers ping.
  add_sync("ping", [](const boost::json::object&) { return boost::json::object{{"pong", true}}; });
}

void Registry::add(std::string method, Handler handler) {
  if (method.empty()) throw std::invalid_argument("management method name is empty");
  if (!handlers_.emplace(method, std::move(handler)).second) {
    throw std::invalid_argument("management method \"" + method + "\" is already registered");
  }
}

void Registry::add_sync(std::string method,
                        std::function<boost::json::value(const boost::json::object&)> fn) {
  add(std::move(method), [fn = std::move(fn)](Call& call) -> boost::asio::awaitable<boost::json::value> {
    co_return fn(call.params());
  });
}

const Handler* Registry::find(std::string_view method) const {
  auto it = handlers_.find(method);
  return it == handlers_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::methods() const {
  std::vector<std::string> out;
  for (const auto& [name, h] : handlers_) out.push_back(name);
  return out;
}

}  // namespace basalt::core::management
