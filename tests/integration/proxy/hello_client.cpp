// basalt-test-hello-client: a TLS client whose first flight arrives the hard
// way, for testing SNI routing and TLS passthrough against ClientHellos that
// real clients and attackers send: re-framed into many small TLS records
// (--split-records N), written one byte per TCP segment (--byte-per-segment),
// or padded to 2-16 KiB (--pad BYTES). The handshake itself is a real OpenSSL
// one; OpenSSL writes into a memory BIO, the first flight is re-framed and
// sent here, and every later byte passes through unchanged.
//
//   basalt-test-hello-client --connect 127.0.0.1:8443 --servername a.test --ca ca.pem
//       --split-records 16 --byte-per-segment --send 'GET / HTTP/1.0\r\n\r\n'
//
// Prints what it reads to stdout and the negotiated protocol, ALPN and peer
// certificate subject to stderr. Exit 0 on success; 1 with a message (and the
// TLS alert, if one came) when connecting or the handshake fails; 2 on bad
// flags.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Bytes = std::vector<unsigned char>;

// A private-use extension type (RFC 8446 §11: first byte 0xff; 0xff01 is taken).
constexpr unsigned kPadExtension = 0xff5a;

struct Options {
  std::string connect;
  std::string servername;
  std::string alpn;
  std::string ca;
  bool insecure = false;
  std::size_t split_records = 0;
  bool byte_per_segment = false;
  std::size_t pad = 0;
  std::string send;
  std::optional<std::size_t> read_bytes;
  int timeout_seconds = 10;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "basalt-test-hello-client: " << message << "\n";
  std::exit(1);
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

// "\r", "\n", "\t", "\\" in --send, so a request fits on a command line.
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    out += c == 'r' ? '\r' : c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return out;
}

int connect_to(const std::string& target, int timeout_seconds) {
  auto colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0) fail("--connect needs HOST:PORT, got \"" + target + "\"");
  std::string host = target.substr(0, colon);
  std::string port = target.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    fail("cannot resolve " + target + ": " + gai_strerror(rc));
  }
  int fd = -1;
  std::string error;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{.tv_sec = timeout_seconds, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) fail("cannot connect to " + target + ": " + error);
  return fd;
}

void send_all(int fd, const unsigned char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(std::string("send failed: ") + std::strerror(errno));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// The same handshake bytes in records of at most `size` bytes. Records of
// other types (none in a ClientHello flight) pass through unchanged.
Bytes split_records(const Bytes& flight, std::size_t size) {
  Bytes out;
  std::size_t pos = 0;
  while (pos + 5 <= flight.size()) {
    std::size_t len = static_cast<std::size_t>(flight[pos + 3] << 8 | flight[pos + 4]);
    if (pos + 5 + len > flight.size()) break;
    if (flight[pos] != 22) {
      out.insert(out.end(), flight.begin() + static_cast<std::ptrdiff_t>(pos),
                 flight.begin() + static_cast<std::ptrdiff_t>(pos + 5 + len));
    } else {
      for (std::size_t off = 0; off < len; off += size) {
        std::size_t n = std::min(size, len - off);
        out.insert(out.end(), {flight[pos], flight[pos + 1], flight[pos + 2],
                               static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)});
        auto from = flight.begin() + static_cast<std::ptrdiff_t>(pos + 5 + off);
        out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>(n));
      }
    }
    pos += 5 + len;
  }
  out.insert(out.end(), flight.begin() + static_cast<std::ptrdiff_t>(pos), flight.end());
  return out;
}

struct Connection {
  const Options& options;
  int fd = -1;
  SSL* ssl = nullptr;
  BIO* network_in = nullptr;   // bytes from the server, for OpenSSL to read
  BIO* network_out = nullptr;  // bytes OpenSSL wrote, for us to send
  bool first_flight_sent = false;
  std::string alert;

  // Sends what OpenSSL wrote; the first flight as the options say.
  void flush() {
    Bytes pending(static_cast<std::size_t>(BIO_ctrl_pending(network_out)));
    if (pending.empty()) return;
    BIO_read(network_out, pending.data(), static_cast<int>(pending.size()));
    if (first_flight_sent) {
      send_all(fd, pending.data(), pending.size());
      return;
    }
    first_flight_sent = true;
    if (options.split_records > 0) pending = split_records(pending, options.split_records);
    std::cerr << "first flight: " << pending.size() << " bytes\n";
    if (!options.byte_per_segment) {
      send_all(fd, pending.data(), pending.size());
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (unsigned char b : pending) {
      send_all(fd, &b, 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Reads from the socket into OpenSSL; false on EOF.
  bool receive() {
    unsigned char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) fail("timed out waiting for the server");
      if (n < 0) fail(std::string("recv failed: ") + std::strerror(errno));
      if (n == 0) return false;
      BIO_write(network_in, buf, static_cast<int>(n));
      return true;
    }
  }

  [[noreturn]] void handshake_failed(const std::string& why) {
    std::string message = "TLS handshake with " + options.connect + " failed: " + why;
    if (!alert.empty()) message += " (TLS alert received: " + alert + ")";
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      message += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    fail(message);
  }
};

void on_info(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ)) {
    auto* connection = static_cast<Connection*>(SSL_get_app_data(ssl));
    connection->alert = std::string(SSL_alert_type_string_long(ret)) + " " + SSL_alert_desc_string_long(ret) +
                        " (" + std::to_string(ret & 0xff) + ")";
  }
}

int add_pad(SSL*, unsigned, unsigned, const unsigned char** out, std::size_t* outlen, X509*, std::size_t,
            int*, void* arg) {
  auto* pad = static_cast<Bytes*>(arg);
  *out = pad->data();
  *outlen = pad->size();
  return 1;
}
void free_pad(SSL*, unsigned, unsigned, const unsigned char*, void*) {}

std::string alpn_wire(const std::string& list) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(pos, comma - pos);
    if (name.empty() || name.size() > 255) {
      std::cerr << "basalt-test-hello-client: --alpn \"" << list << "\" has an empty or too long name\n";
      std::exit(2);
    }
    out.push_back(static_cast<char>(name.size()));
    out += name;
    pos = comma + 1;
  }
  return out;
}

std::string subject_of(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "(no certificate)";
  BIO* mem = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(mem, &data);
  std::string subject(data, static_cast<std::size_t>(len));
  BIO_free(mem);
  X509_free(cert);
  return subject;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"TLS client that sends its ClientHello split into records or bytes"};
  app.add_option("--connect", options.connect, "HOST:PORT to connect to")->required();
  app.add_option("--servername", options.servername, "SNI to send (and the name verified)");
  app.add_option("--alpn", options.alpn, "ALPN protocols to offer, comma-separated (h2,http/1.1)");
  app.add_option("--ca", options.ca, "PEM file of CA certificates to verify the server against");
  app.add_flag("--insecure", options.insecure, "do not verify the server certificate");
  app.add_option("--split-records", options.split_records,
                 "re-frame the ClientHello into TLS records of at most N bytes")
      ->check(CLI::Range(1, 16384));
  app.add_flag("--byte-per-segment", options.byte_per_segment,
               "send the ClientHello one byte per send() (TCP_NODELAY, 2 ms apart)");
  app.add_option("--pad", options.pad, "add a private extension of BYTES bytes to the ClientHello")
      ->check(CLI::Range(0, 60000));
  app.add_option("--send", options.send, "text to write after the handshake (\\r \\n \\t escapes)");
  app.add_option("--read-bytes", options.read_bytes, "stop after reading N bytes (default: until EOF)");
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for the server per read (default 10)")
      ->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  if (!options.ca.empty() && options.insecure) {
    std::cerr << "basalt-test-hello-client: --ca and --insecure exclude each other\n";
    return 2;
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  Bytes pad(options.pad, 0x5a);
  if (options.pad > 0 && SSL_CTX_add_custom_ext(ctx, kPadExtension, SSL_EXT_CLIENT_HELLO, add_pad, free_pad,
                                                &pad, nullptr, nullptr) != 1) {
    fail("cannot add the padding extension: " + openssl_errors());
  }
  if (options.insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = options.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                : SSL_CTX_load_verify_locations(ctx, options.ca.c_str(), nullptr);
    if (ok != 1) fail("cannot load CA certificates from \"" + options.ca + "\": " + openssl_errors());
  }
  SSL_CTX_set_info_callback(ctx, on_info);

  Connection connection{.options = options};
  connection.fd = connect_to(options.connect, options.timeout_seconds);
  SSL* ssl = SSL_new(ctx);
  connection.ssl = ssl;
  SSL_set_app_data(ssl, &connection);
  connection.network_in = BIO_new(BIO_s_mem());
  connection.network_out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, connection.network_in, connection.network_out);
  SSL_set_connect_state(ssl);
  if (!options.servername.empty()) {
    SSL_set_tlsext_host_name(ssl, options.servername.c_str());
    if (!options.insecure) SSL_set1_host(ssl, options.servername.c_str());
  }
  if (!options.alpn.empty()) {
    std::string wire = alpn_wire(options.alpn);
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }

  for (;;) {
    int rc = SSL_do_handshake(ssl);
    connection.flush();
    if (rc == 1) break;
    int error = SSL_get_error(ssl, rc);
    if (error == SSL_ERROR_WANT_READ) {
      if (!connection.receive()) connection.handshake_failed("the server closed the connection");
      continue;
    }
    connection.handshake_failed(openssl_errors());
  }

  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  std::cerr << "protocol: " << SSL_get_version(ssl) << "\n"
            << "alpn: " << (alpn_len ? std::string(reinterpret_cast<const char*>(alpn), alpn_len) : "(none)")
            << "\n"
            << "subject: " << subject_of(ssl) << "\n";

  if (!options.send.empty()) {
    std::string text = unescape(options.send);
    if (SSL_write(ssl, text.data(), static_cast<int>(text.size())) <= 0)
      fail("write failed: " + openssl_errors());
    connection.flush();
  }

  std::size_t total = 0;
  char buf[16384];
  while (!options.read_bytes || total < *options.read_bytes) {
    int n = SSL_read(ssl, buf, sizeof buf);
    connection.flush();
    if (n > 0) {
      std::size_t take = static_cast<std::size_t>(n);
      if (options.read_bytes) take = std::min(take, *options.read_bytes - total);
      std::fwrite(buf, 1, take, stdout);
      std::fflush(stdout);
      total += take;
      continue;
    }
    int error = SSL_get_error(ssl, n);
    if (error == SSL_ERROR_ZERO_RETURN) break;  // close_notify
    if (error == SSL_ERROR_WANT_READ) {
      if (!connection.receive()) break;  // EOF
      continue;
    }
    fail("read failed: " + openssl_errors() +
         (connection.alert.empty() ? "" : " (alert: " + connection.alert + ")"));
  }
  if (options.read_bytes && total < *options.read_bytes) {
    fail("the connection ended after " + std::to_string(total) + " of " +
         std::to_string(*options.read_bytes) + " bytes");
  }
  SSL_shutdown(ssl);
  connection.flush();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(connection.fd);
  return 0;
}
