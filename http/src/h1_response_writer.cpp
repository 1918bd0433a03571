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
  auto at = out.size();
  out.append(v);
  for (auto i = out.find_first_of("\r\n", at); i != std::string::npos; i = out.find_first_of("\r\n", i + 1))
    out[i] = ' ';
}
}  // namespace

std::string serialize_head(const ResponseHead& head, Version version, Framing framing, std::uint64_t length,
                           bool keep_alive, bool announce_length) {
  std::string out;
  out.reserve(128 + head.headers.byte_size() + 4 * head.headers.size());
  out.append(version == Version::http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  int status = head.status < 100 || head.status > 999 ? 500 : head.status;
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  bool upgrade = status == 101;
  for (auto& f : head.headers) {
    if (iequals(f.name, "content-length")) continue;
    if (is_connection_specific(f.name) && !(upgrade && iequals(f.name, "upgrade"))) continue;
    append_clean(out, f.name);
    out.append(": ");
    append_clean(out, f.value);
    out.append("\r\n");
  }
  if (framing == Framing::kLength || (framing == Framing::kNone && announce_length)) {
    out.append("Content-Length: ");
    append_number(out, length);
    out.append("\r\n");
  } else if (framing == Framing::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (upgrade) {
    out.append("Connection: upgrade\r\n");
  } else if (status < 200 || framing == Framing::kTunnel) {
    // informational, or a CONNECT tunnel: no connection field
  } else if (!keep_alive || framing == Framing::kUntilClose) {
    out.append("Connection: close\r\n");
  } else if (version == Version::http1_0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return out;
}

std::string serialize_response_head(const Response& response, Version version, bool keep_alive,
                                    bool head_request) {
  bool body = status_has_body(response.status);
  Framing framing = !body ? Framing::kNone : head_request ? Framing::kNone : Framing::kLength;
  return serialize_head(response, version, framing, response.body.size(), keep_alive, body && head_request);
}

}  // namespace basalt::http
