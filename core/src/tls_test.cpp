#include "basalt/core/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "basalt/core/file.hpp"

namespace basalt::core {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

PemCertificate make_cert(std::vector<std::string> names) {
  std::string error;
  auto pem = generate_self_signed({.dns_names = std::move(names)}, &error);
  EXPECT_TRUE(pem) << error;
  return pem.value_or(PemCertificate{});
}

TlsCertificateSource source(const PemCertificate& p) {
  return {p.certificate, p.private_key};
}

std::string common_name(X509* x) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
  return buf;
}

// A TLS echo server on 127.0.0.1: one thread accepts, one thread per
// connection echoes lines back. Blocking Asio calls keep it simple; every
// connection ends when its client closes.
class EchoServer {
 public:
  explicit EchoServer(const TlsServerContext& ctx)
      : ctx_(adopt(ctx.native_handle())),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    acceptor_thread_ = std::thread([this] { accept_loop(); });
  }
  ~EchoServer() {
    stopping_ = true;
    // Wake the blocking accept with one last connection.
    asio::io_context io;
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    acceptor_thread_.join();
    // Sessions take mutex_ to record errors: join them without holding it.
    std::vector<std::thread> sessions;
    {
      std::lock_guard lock(mutex_);
      sessions.swap(sessions_);
    }
    for (auto& t : sessions) t.join();
  }
  std::uint16_t port() const { return port_; }
  // Handshake errors seen by the server, in order.
  std::vector<std::string> errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }

 private:
  static asio::ssl::context adopt(SSL_CTX* ctx) {
    SSL_CTX_up_ref(ctx);
    return asio::ssl::context(ctx);
  }

  void accept_loop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      std::lock_guard lock(mutex_);
      sessions_.emplace_back([this, socket] { session(std::move(*socket)); });
    }
  }

  void session(tcp::socket socket) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), ctx_);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      std::lock_guard lock(mutex_);
      errors_.push_back(ec.message());
      return;
    }
    std::string buf;
    for (;;) {
      std::size_t n = asio::read_until(stream, asio::dynamic_buffer(buf), '\n', ec);
      if (ec) break;
      asio::write(stream, asio::buffer(buf.data(), n), ec);
      if (ec) break;
      buf.erase(0, n);
    }
    stream.shutdown(ec);
  }

  asio::io_context io_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_thread_;
  std::mutex mutex_;
  std::vector<std::thread> sessions_;
  std::vector<std::string> errors_;
};

class Client {
 public:
  explicit Client(const TlsClientContext& ctx)
      : tls_(ctx), ctx_(adopt(ctx.native_handle())), stream_(io_, ctx_) {}
  ~Client() {
    boost::system::error_code ec;
    stream_.next_layer().close(ec);
  }

  // Connects and handshakes; `server_name` goes through TlsClientContext::prepare.
  bool connect(std::uint16_t port, std::string_view server_name) {
    stream_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string why;
    if (!tls_.prepare(stream_.native_handle(), server_name, &why)) {
      error_ = why;
      return false;
    }
    boost::system::error_code ec;
    stream_.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      error_ = ec.message();
      return false;
    }
    return true;
  }

  std::string echo(const std::string& line) {
    asio::write(stream_, asio::buffer(line + "\n"));
    std::string buf;
    std::size_t n = asio::read_until(stream_, asio::dynamic_buffer(buf), '\n');
    return buf.substr(0, n - 1);
  }

  // CN of the certificate the server presented.
  std::string peer_cn() {
    X509* peer = SSL_get1_peer_certificate(stream_.native_handle());
    if (!peer) return "<none>";
    std::string cn = common_name(peer);
    X509_free(peer);
    return cn;
  }
  std::string alpn() { return tls_alpn_protocol(stream_.native_handle()); }
  std::string verify_error() { return tls_verify_error(stream_.native_handle()); }
  const std::string& error() const { return error_; }

 private:
  static asio::ssl::context adopt(SSL_CTX* ctx) {
    SSL_CTX_up_ref(ctx);
    return asio::ssl::context(ctx);
  }
  TlsClientContext tls_;
  asio::io_context io_;
  asio::ssl::context ctx_;
  asio::ssl::stream<tcp::socket> stream_;
  std::string error_;
};

TlsClientContext insecure_client(std::vector<std::string> alpn = {}) {
  auto c = TlsClientContext::create({.verify = false, .alpn = std::move(alpn)});
  EXPECT_TRUE(c);
  return *c;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "basalt-tls-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path write(const std::string& name, std::string_view data) {
    auto p = path_ / name;
    EXPECT_TRUE(write_file_atomic(p, data));
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// --- loading -----------------------------------------------------------------

TEST(TlsCertifiedKey, LoadsInlinePemAndFiles) {
  auto pem = make_cert({"www.example.com", "*.example.com", "EXAMPLE.com"});
  std::string error;
  auto inline_key = TlsCertifiedKey::load(source(pem), &error);
  ASSERT_TRUE(inline_key) << error;
  EXPECT_EQ(inline_key->dns_names(),
            (std::vector<std::string>{"www.example.com", "*.example.com", "example.com"}));
  EXPECT_EQ(inline_key->subject(), "CN=www.example.com");
  const auto days = std::chrono::duration_cast<std::chrono::hours>(inline_key->not_after() -
                                                                   std::chrono::system_clock::now())
                        .count() /
                    24;
  EXPECT_GE(days, 364);
  EXPECT_LE(days, 365);

  TempDir dir;
  auto cert_path = dir.write("cert.pem", pem.certificate);
  auto key_path = dir.write("key.pem", pem.private_key);
  auto from_files = TlsCertifiedKey::load({cert_path.string(), key_path.string()}, &error);
  ASSERT_TRUE(from_files) << error;
  EXPECT_EQ(from_files->dns_names(), inline_key->dns_names());
  EXPECT_EQ(X509_cmp(from_files->leaf(), inline_key->leaf()), 0);
}

TEST(TlsCertifiedKey, LoadsChainLeafFirst) {
  auto leaf = make_cert({"leaf.test"});
  auto other = make_cert({"intermediate.test"});
  auto key = TlsCertifiedKey::load({leaf.certificate + other.certificate, leaf.private_key});
  ASSERT_TRUE(key);
  EXPECT_EQ(key->subject(), "CN=leaf.test");
  EXPECT_EQ(sk_X509_num(key->chain()), 1);
}

TEST(TlsCertifiedKey, ErrorsSayWhichPartIsWrong) {
  auto a = make_cert({"a.test"});
  auto b = make_cert({"b.test"});
  TempDir dir;
  const auto missing = (dir.path() / "missing.pem").string();
  auto garbage = dir.write("garbage.pem", "hello\n");
  auto err = [](const TlsCertificateSource& s) {
    std::string error;
    EXPECT_FALSE(TlsCertifiedKey::load(s, &error));
    return error;
  };
  EXPECT_EQ(err({missing, a.private_key}),
            "cannot read certificate file \"" + missing + "\": No such file or directory");
  EXPECT_EQ(err({a.certificate, missing}),
            "cannot read private key file \"" + missing + "\": No such file or directory");
  EXPECT_EQ(err({garbage.string(), a.private_key}),
            "certificate file \"" + garbage.string() + "\" contains no PEM data");
  EXPECT_EQ(err({"", a.private_key}), "certificate is empty (expected PEM text or a file path)");
  EXPECT_EQ(err({a.private_key, a.private_key}), "certificate PEM is malformed (no CERTIFICATE block)");
  std::string corrupt = a.certificate;
  corrupt.replace(corrupt.find('\n') + 5, 8, "!!!!!!!!");
  EXPECT_NE(err({corrupt, a.private_key}).find("certificate PEM is malformed ("), std::string::npos);
  EXPECT_EQ(err({a.certificate, a.certificate}), "private key PEM is malformed (no PRIVATE KEY block)");
  std::string bad_key = a.private_key;
  bad_key.replace(bad_key.find('\n') + 5, 8, "AAAAAAAA");
  EXPECT_NE(err({a.certificate, bad_key}).find("private key PEM is malformed ("), std::string::npos);
  EXPECT_EQ(err({a.certificate, b.private_key}), "private key does not match the certificate (CN=a.test)");
  EXPECT_EQ(err({a.certificate,
                 "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"}),
            "private key is encrypted, which is not supported");
}

TEST(TlsSelfSigned, GeneratesUsableCertificates) {
  std::string error;
  EXPECT_FALSE(generate_self_signed({}, &error));
  EXPECT_EQ(error, "needs at least one DNS name or IP address");
  auto pem = generate_self_signed(
      {.dns_names = {"ns1.example.com", "dns.example.com"}, .validity = std::chrono::hours(24 * 30)});
  ASSERT_TRUE(pem);
  EXPECT_TRUE(pem->certificate.starts_with("-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(pem->private_key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  auto key = TlsCertifiedKey::load(source(*pem));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->dns_names(), (std::vector<std::string>{"ns1.example.com", "dns.example.com"}));
  EXPECT_EQ(EVP_PKEY_get_bits(key->key()), 256);
  EXPECT_TRUE(EVP_PKEY_is_a(key->key(), "EC"));
  const auto days =
      std::chrono::duration_cast<std::chrono::hours>(key->not_after() - std::chrono::system_clock::now())
          .count() /
      24;
  EXPECT_EQ(days, 29);  // 30 days minus the time since generation
  // Two certificates never share a serial number.
  auto again = make_cert({"ns1.example.com"});
  auto other = TlsCertifiedKey::load(source(again));
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(key->leaf()), X509_get0_serialNumber(other->leaf())), 0);
}

TEST(TlsServerContext, CreateErrors) {
  std::string error;
  EXPECT_FALSE(TlsServerContext::create({}, &error));
  EXPECT_EQ(error, "needs at least one certificate");
  auto a = make_cert({"a.test"});
  auto b = make_cert({"b.test"});
  EXPECT_FALSE(
      TlsServerContext::create({.certificates = {source(a), {b.certificate, a.private_key}}}, &error));
  EXPECT_EQ(error, "certificates[1]: private key does not match the certificate (CN=b.test)");
  EXPECT_FALSE(TlsServerContext::create({.certificates = {source(a)}, .alpn = {"h2", ""}}, &error));
  EXPECT_EQ(error, "ALPN protocol \"\" must be 1-255 bytes long");
}

// --- SNI -----------------------------------------------------------------------

TEST(TlsServerContext, SelectsBySniExactThenWildcardThenDefault) {
  auto server = TlsServerContext::create({.certificates = {
                                              source(make_cert({"default.test"})),
                                              source(make_cert({"a.example.com"})),
                                              source(make_cert({"*.example.com"})),
                                              source(make_cert({"example.org", "www.example.org"})),
                                          }});
  ASSERT_TRUE(server);
  EXPECT_EQ(server->select("a.example.com")->subject(), "CN=a.example.com");
  EXPECT_EQ(server->select("A.Example.COM.")->subject(), "CN=a.example.com");
  EXPECT_EQ(server->select("b.example.com")->subject(), "CN=*.example.com");
  EXPECT_EQ(server->select("x.b.example.com")->subject(), "CN=default.test");  // one label only
  EXPECT_EQ(server->select("example.com")->subject(), "CN=default.test");
  EXPECT_EQ(server->select("www.example.org")->subject(), "CN=example.org");
  EXPECT_EQ(server->select("")->subject(), "CN=default.test");

  EchoServer echo(*server);
  auto client_ctx = insecure_client();
  const std::pair<const char*, const char*> cases[] = {
      {"a.example.com", "a.example.com"}, {"B.EXAMPLE.COM", "*.example.com"},
      {"www.example.org", "example.org"}, {"unknown.test", "default.test"},
      {"127.0.0.1", "default.test"},  // IP literal: no SNI sent
  };
  for (auto [sni, cn] : cases) {
    Client client(client_ctx);
    ASSERT_TRUE(client.connect(echo.port(), sni)) << sni << ": " << client.error();
    EXPECT_EQ(client.peer_cn(), cn) << sni;
    EXPECT_EQ(client.echo("ping"), "ping");
  }
}

// --- hot swap ----------------------------------------------------------------------

TEST(TlsServerContext, HotSwapKeepsOpenConnectionsAndServesNewCertificate) {
  auto server = TlsServerContext::create({.certificates = {source(make_cert({"old.test", "swap.test"}))}});
  ASSERT_TRUE(server);
  EchoServer echo(*server);
  auto client_ctx = insecure_client();

  Client before(client_ctx);
  ASSERT_TRUE(before.connect(echo.port(), "swap.test")) << before.error();
  EXPECT_EQ(before.peer_cn(), "old.test");
  EXPECT_EQ(before.echo("one"), "one");

  std::string error;
  ASSERT_TRUE(server->set_certificates({source(make_cert({"new.test", "swap.test"}))}, &error)) << error;

  Client after(client_ctx);
  ASSERT_TRUE(after.connect(echo.port(), "swap.test")) << after.error();
  EXPECT_EQ(after.peer_cn(), "new.test");
  Client no_sni(client_ctx);
  ASSERT_TRUE(no_sni.connect(echo.port(), "127.0.0.1")) << no_sni.error();
  EXPECT_EQ(no_sni.peer_cn(), "new.test");

  // The connection from before the swap still works and kept its certificate.
  EXPECT_EQ(before.echo("two"), "two");
  EXPECT_EQ(before.peer_cn(), "old.test");
  EXPECT_EQ(after.echo("three"), "three");

  // A failed swap changes nothing.
  auto bad = make_cert({"bad.test"});
  EXPECT_FALSE(server->set_certificates({{bad.certificate, make_cert({"x.test"}).private_key}}, &error));
  EXPECT_EQ(error, "certificates[0]: private key does not match the certificate (CN=bad.test)");
  EXPECT_FALSE(server->set_certificates(std::vector<std::shared_ptr<const TlsCertifiedKey>>{}));
  Client later(client_ctx);
  ASSERT_TRUE(later.connect(echo.port(), "swap.test")) << later.error();
  EXPECT_EQ(later.peer_cn(), "new.test");
}

TEST(TlsServerContext, HotSwapUnderConcurrentHandshakes) {
  auto server = TlsServerContext::create({.certificates = {source(make_cert({"gen0.test"}))}});
  ASSERT_TRUE(server);
  std::vector<std::shared_ptr<const TlsCertifiedKey>> generations;
  for (int i = 1; i <= 4; ++i)
    generations.push_back(TlsCertifiedKey::load(source(make_cert({"gen" + std::to_string(i) + ".test"}))));
  EchoServer echo(*server);
  auto client_ctx = insecure_client();
  std::atomic<bool> done{false};
  std::thread swapper([&] {
    for (int round = 0; !done; ++round) server->set_certificates({generations[round % generations.size()]});
  });
  for (int i = 0; i < 20; ++i) {
    Client c(client_ctx);
    ASSERT_TRUE(c.connect(echo.port(), "any.test")) << c.error();
    EXPECT_TRUE(c.peer_cn().starts_with("gen")) << c.peer_cn();
    EXPECT_EQ(c.echo("x"), "x");
  }
  done = true;
  swapper.join();
  EXPECT_TRUE(echo.errors().empty());
}

// --- ALPN ---------------------------------------------------------------------------

TEST(TlsServerContext, AlpnUsesServerPreference) {
  auto server = TlsServerContext::create(
      {.certificates = {source(make_cert({"alpn.test"}))}, .alpn = {"h2", "http/1.1"}});
  ASSERT_TRUE(server);
  EchoServer echo(*server);
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"http/1.1", "h2"}, "h2"},
      {{"h2"}, "h2"},
      {{"http/1.1"}, "http/1.1"},
      {{"foo"}, ""},  // no overlap: continue without ALPN
      {{}, ""},
  };
  for (const auto& [offer, expected] : cases) {
    Client c(insecure_client(offer));
    ASSERT_TRUE(c.connect(echo.port(), "alpn.test")) << c.error();
    EXPECT_EQ(c.alpn(), expected);
    EXPECT_EQ(c.echo("x"), "x");
  }
}

TEST(TlsServerContext, AlpnMismatchCanBeFatal) {
  auto server = TlsServerContext::create(
      {.certificates = {source(make_cert({"alpn.test"}))}, .alpn = {"dot"}, .reject_unknown_alpn = true});
  ASSERT_TRUE(server);
  EchoServer echo(*server);
  {
    Client c(insecure_client({"h2"}));
    EXPECT_FALSE(c.connect(echo.port(), "alpn.test"));
    EXPECT_NE(c.error().find("no application protocol"), std::string::npos) << c.error();
  }
  Client ok(insecure_client({"dot"}));
  ASSERT_TRUE(ok.connect(echo.port(), "alpn.test")) << ok.error();
  EXPECT_EQ(ok.alpn(), "dot");
}

// --- client verification ----------------------------------------------------------------

TEST(TlsClientContext, VerifiesAgainstGivenCa) {
  auto cert = make_cert({"secure.test"});
  auto server = TlsServerContext::create({.certificates = {source(cert)}});
  ASSERT_TRUE(server);
  EchoServer echo(*server);
  TempDir dir;
  auto ca_file = dir.write("ca.pem", cert.certificate);

  {  // Right CA, given as a file: works.
    std::string error;
    auto ctx = TlsClientContext::create({.ca = ca_file.string()}, &error);
    ASSERT_TRUE(ctx) << error;
    Client c(*ctx);
    ASSERT_TRUE(c.connect(echo.port(), "secure.test")) << c.error();
    EXPECT_EQ(c.verify_error(), "");
    EXPECT_EQ(c.echo("hello"), "hello");
  }
  {  // Wrong CA: fails, and says why.
    auto ctx = TlsClientContext::create({.ca = make_cert({"other-ca.test"}).certificate});
    ASSERT_TRUE(ctx);
    Client c(*ctx);
    EXPECT_FALSE(c.connect(echo.port(), "secure.test"));
    EXPECT_NE(c.error().find("certificate verify failed"), std::string::npos) << c.error();
    EXPECT_EQ(c.verify_error(), "certificate verify failed: self-signed certificate (for secure.test)");
  }
  {  // Right CA, wrong name.
    auto ctx = TlsClientContext::create({.ca = cert.certificate});
    ASSERT_TRUE(ctx);
    Client c(*ctx);
    EXPECT_FALSE(c.connect(echo.port(), "other.test"));
    EXPECT_EQ(c.verify_error(), "certificate verify failed: hostname mismatch (for other.test)");
  }
  {  // The system trust store does not know a self-signed certificate.
    auto ctx = TlsClientContext::create({});
    ASSERT_TRUE(ctx);
    Client c(*ctx);
    EXPECT_FALSE(c.connect(echo.port(), "secure.test"));
    EXPECT_NE(c.verify_error(), "");
  }
}

TEST(TlsClientContext, VerifiesIpAddressesAgainstIpSans) {
  std::string error;
  auto cert = generate_self_signed(
      {.dns_names = {"dot.test"}, .ip_addresses = {IpAddress::v4_loopback(), IpAddress::v6_loopback()}},
      &error);
  ASSERT_TRUE(cert) << error;
  auto server = TlsServerContext::create({.certificates = {source(*cert)}});
  ASSERT_TRUE(server);
  EchoServer echo(*server);
  auto ctx = TlsClientContext::create({.ca = cert->certificate});
  ASSERT_TRUE(ctx);
  {
    Client c(*ctx);
    ASSERT_TRUE(c.connect(echo.port(), "127.0.0.1")) << c.error();
    EXPECT_EQ(c.echo("by address"), "by address");
  }
  {
    Client c(*ctx);
    ASSERT_TRUE(c.connect(echo.port(), "dot.test")) << c.error();
  }
  {  // An address that is not in the certificate.
    auto other = generate_self_signed({.ip_addresses = {*IpAddress::parse("192.0.2.1")}});
    ASSERT_TRUE(other);
    auto other_server = TlsServerContext::create({.certificates = {source(*other)}});
    ASSERT_TRUE(other_server);
    EXPECT_EQ(other_server->select("")->subject(), "CN=192.0.2.1");
    EchoServer other_echo(*other_server);
    auto other_ctx = TlsClientContext::create({.ca = other->certificate});
    ASSERT_TRUE(other_ctx);
    Client c(*other_ctx);
    EXPECT_FALSE(c.connect(other_echo.port(), "127.0.0.1"));
    EXPECT_NE(c.verify_error().find("IP address mismatch"), std::string::npos) << c.verify_error();
  }
}

TEST(TlsClientContext, CreateErrors) {
  std::string error;
  EXPECT_FALSE(TlsClientContext::create({.ca = "/nonexistent/ca.pem"}, &error));
  EXPECT_EQ(error, "cannot read CA file \"/nonexistent/ca.pem\": No such file or directory");
  EXPECT_FALSE(TlsClientContext::create(
      {.ca = "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"}, &error));
  EXPECT_NE(error.find("CA PEM is malformed ("), std::string::npos) << error;
  EXPECT_FALSE(TlsClientContext::create({.alpn = {std::string(256, 'x')}}, &error));
  EXPECT_NE(error.find("must be 1-255 bytes long"), std::string::npos);
  auto ctx = TlsClientContext::create({});
  ASSERT_TRUE(ctx);
  SSL* ssl = SSL_new(ctx->native_handle());
  EXPECT_FALSE(ctx->prepare(ssl, "", &error));
  EXPECT_EQ(error, "needs a server name to verify");
  SSL_free(ssl);
}

// --- a real peer --------------------------------------------------------------------------

TEST(TlsServerContext, OpensslSClientSeesSniCertificateAndAlpn) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) {
    if (const char* ci = std::getenv("CI"); ci && std::string_view(ci) == "true")
      FAIL() << "openssl binary missing";
    GTEST_SKIP() << "openssl binary not installed";
  }
  auto cert = make_cert({"real.test"});
  auto server = TlsServerContext::create(
      {.certificates = {source(make_cert({"fallback.test"})), source(cert)}, .alpn = {"h2", "http/1.1"}});
  ASSERT_TRUE(server);
  EchoServer echo(*server);
  TempDir dir;
  auto ca = dir.write("ca.pem", cert.certificate);
  const std::string cmd =
      "openssl s_client -connect 127.0.0.1:" + std::to_string(echo.port()) +
      " -servername real.test -alpn h2 -verify_return_error -verify_hostname real.test -CAfile " +
      ca.string() + " </dev/null 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("subject=CN = real.test"), std::string::npos) << out;
  EXPECT_NE(out.find("ALPN protocol: h2"), std::string::npos) << out;
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
}

}  // namespace
}  // namespace basalt::core
