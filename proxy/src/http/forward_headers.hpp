// The header rewriting a reverse proxy does between client and backend:
// hop-by-hop fields removed (RFC 9110 §7.6.1: Connection and the fields it
// names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
// Upgrade), and the X-Forwarded-* / Forwarded / Via fields added.
//
// X-Forwarded-For, -Proto and -Host (on by default, `http.forwardedHeaders`)
// and RFC 7239 Forwarded (`http.forwarded`): when the peer is one of
// `proxyIPs`, incoming values are trusted and extended (the peer's address
// appended, -Proto/-Host kept); from anyone else they are replaced, so a
// client cannot forge its address. Envoy's use_remote_address with
// xff_num_trusted_hops, HAProxy's `option forwardfor` with `if-none`.
#pragma once

#include <string>
#include <string_view>

#include "basalt/core/ip.hpp"
#include "basalt/http/headers.hpp"

namespace basalt::proxy {

struct HttpOptions;

// Removes the hop-by-hop fields. `keep_upgrade`: an Upgrade exchange keeps
// `Upgrade` and `Connection: upgrade`.
void strip_hop_by_hop(http::Headers& headers, bool keep_upgrade);

struct ForwardedFor {
  core::IpAddress client;
  bool trusted = false;    // the peer is one of proxyIPs
  std::string_view proto;  // "http" / "https" as the client spoke to us
  std::string_view host;   // the Host / :authority the client sent
};

// Adds what `options` switches on (X-Forwarded-*, Forwarded, Via).
void add_forwarding(http::Headers& headers, const ForwardedFor& who, const HttpOptions& options,
                    std::string_view via_protocol);

}  // namespace basalt::proxy
