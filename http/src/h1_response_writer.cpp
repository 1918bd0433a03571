#include "h1_response_writer.hpp"

#include <charconv>

namespace basalt::http {

bool is_connection_specific(std::string_view name) noexcept {
  return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "proxy-connection") ||
         iequals(name, "transfer-encoding") || iequals(name, "upgrade");
}

bool status_has_body(int status) noexcept {
  return !((status >= 100 && status < 200) || status == 204 || status == 304);
}

namespace {
void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Field values must not carry CR/LF (response splitting); replace them.
void append_clean(std::string& out, std::string_view v) {
  for (char c : v) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}
}  // namespace

std::string serialize_response_head(const Response& response, Version version, bool keep_alive,
                                    bool head_request) {
  std::string out;
  out.reserve(128 + response.headers.byte_size() + 4 * response.headers.size());
  out.append(version == Version::http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  int status = response.status < 100 || response.status > 999 ? 500 : response.status;
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  for (auto& f : response.headers) {
    if (is_connection_specific(f.name) || iequals(f.name, "content-length")) continue;
    append_clean(out, f.name);
    out.append(": ");
    append_clean(out, f.value);
    out.append("\r\n");
  }
  if (status_has_body(status)) {
    out.append("Content-Length: ");
    append_number(out, response.body.size());
    out.append("\r\n");
  }
  (void)head_request;
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (version == Version::http1_0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return out;
}

}  // namespace basalt::http
