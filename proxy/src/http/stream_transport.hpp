// The proxy's client-side byte stream (plain TCP or TLS driven on the
// descriptor, l4/) seen as an http::Transport, so the http/ module's
// HTTP/1.1 and HTTP/2 sessions serve it (http::ConnectionServer).
//
// Thread-safety and lifetime: as the stream it owns (one worker thread; one
// read and one write at a time).
#pragma once

#include <memory>

#include "basalt/http/transport.hpp"
#include "l4/byte_stream.hpp"

namespace basalt::proxy {

struct Traffic;

// `tls`: the SSL object when `stream` is a TlsStream (for ALPN and
// Transport::ssl()), else null. Bytes read and written are counted into
// `traffic` (the connection's; it must outlive the transport).
std::unique_ptr<http::Transport> make_stream_transport(std::unique_ptr<ByteStream> stream, ssl_st* tls,
                                                       Traffic& traffic);

}  // namespace basalt::proxy
