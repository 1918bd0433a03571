#include "l4/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "basalt/core/tls.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;

namespace {

int bio_read(BIO* bio, char* out, int length) {
  auto* s = static_cast<TlsStream::BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (length <= 0) return 0;
  if (s->offset < s->prefix.size()) {
    auto n = std::min<std::size_t>(static_cast<std::size_t>(length), s->prefix.size() - s->offset);
    std::memcpy(out, s->prefix.data() + s->offset, n);
    s->offset += n;
    if (s->offset == s->prefix.size()) {
      s->prefix = {};
      s->offset = 0;
    }
    return static_cast<int>(n);
  }
  ssize_t n = ::recv(s->fd, out, static_cast<std::size_t>(length), 0);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

int bio_write(BIO* bio, const char* in, int length) {
  auto* s = static_cast<TlsStream::BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(s->fd, in, static_cast<std::size_t>(length), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

long bio_ctrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// The method table is immutable after its first construction.
const BIO_METHOD* socket_method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "basalt-proxy socket");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "connection closed during the handshake";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

}  // namespace

TlsStream::TlsStream(ssl_ctx_st* ctx, asio::ip::tcp::socket socket, std::vector<std::uint8_t> prefix)
    : socket_(std::move(socket)) {
  boost::system::error_code ignored;
  socket_.native_non_blocking(true, ignored);
  bio_state_.fd = socket_.native_handle();
  bio_state_.prefix = std::move(prefix);
  ssl_ = SSL_new(ctx);
  BIO* bio = BIO_new(socket_method());
  BIO_set_data(bio, &bio_state_);
  SSL_set_bio(ssl_, bio, bio);
}

std::unique_ptr<TlsStream> TlsStream::server(ssl_ctx_st* ctx, asio::ip::tcp::socket socket,
                                             std::vector<std::uint8_t> prefix) {
  std::unique_ptr<TlsStream> s(new TlsStream(ctx, std::move(socket), std::move(prefix)));
  SSL_set_accept_state(s->ssl_);
  return s;
}

std::unique_ptr<TlsStream> TlsStream::client(ssl_ctx_st* ctx, asio::ip::tcp::socket socket) {
  std::unique_ptr<TlsStream> s(new TlsStream(ctx, std::move(socket), {}));
  SSL_set_connect_state(s->ssl_);
  return s;
}

TlsStream::~TlsStream() {
  if (ssl_) SSL_free(ssl_);
}

asio::awaitable<bool> TlsStream::wait_for(int result, boost::system::error_code& ec) {
  int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) {
    auto [e] = co_await socket_.async_wait(asio::socket_base::wait_read, asio::as_tuple(asio::use_awaitable));
    ec = e;
    co_return !e;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    auto [e] =
        co_await socket_.async_wait(asio::socket_base::wait_write, asio::as_tuple(asio::use_awaitable));
    ec = e;
    co_return !e;
  }
  if (error == SSL_ERROR_SYSCALL && errno != 0) {
    ec.assign(errno, boost::system::system_category());
    reason_ = ec.message();
    ERR_clear_error();
  } else {
    ec = asio::error::connection_aborted;
    reason_ = openssl_reason();
  }
  co_return false;
}

asio::awaitable<void> TlsStream::handshake(boost::system::error_code& ec) {
  ec = {};
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return;
    if (!co_await wait_for(r, ec)) {
      if (auto verify = core::tls_verify_error(ssl_); !verify.empty()) reason_ = verify;
      co_return;
    }
  }
}

asio::awaitable<std::size_t> TlsStream::read_some(std::span<std::uint8_t> buffer,
                                                  boost::system::error_code& ec) {
  ec = {};
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (r == 1) co_return n;
    int error = SSL_get_error(ssl_, r);
    if (error == SSL_ERROR_ZERO_RETURN) co_return 0;
    if (!co_await wait_for(r, ec)) co_return 0;
  }
}

asio::awaitable<void> TlsStream::write_all(std::span<const std::uint8_t> bytes,
                                           boost::system::error_code& ec) {
  ec = {};
  while (!bytes.empty()) {
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n);
    if (r == 1) {
      bytes = bytes.subspan(n);
      continue;
    }
    if (!co_await wait_for(r, ec)) co_return;
  }
}

void TlsStream::shutdown_write() noexcept {
  // close_notify is best effort: one non-blocking attempt, then FIN.
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

void TlsStream::close() noexcept {
  boost::system::error_code ignored;
  socket_.close(ignored);
  bio_state_.fd = -1;
}

}  // namespace basalt::proxy
