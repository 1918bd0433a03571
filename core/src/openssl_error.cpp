#include "basalt/core/openssl_error.hpp"

#include <openssl/err.h>

namespace basalt::core {

std::string openssl_reason() {
  unsigned long last = 0, e;
  while ((e = ERR_get_error()) != 0) last = e;
  if (last == 0) return "unknown error";
  const char* r = ERR_reason_error_string(last);
  return r ? r : "unknown error";
}

std::runtime_error openssl_error(std::string what) {
  what.append(" (").append(openssl_reason()).append(")");
  return std::runtime_error(what);
}

}  // namespace basalt::core
