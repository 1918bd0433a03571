// The `tls` section every basalt daemon shares: one certificate and its key
// for the daemon's TLS listeners, each a PEM file path or the PEM text. Absent
// in the file: a self-signed certificate kept in the state directory (see
// certificate_set.hpp).
//
//   tls: {cert: /etc/basalt/doh.pem, key: /etc/basalt/doh.key}
//
// Keys are the member names; a daemon spelling them otherwise derives a
// struct and maps them (core::config::key_names).
#pragma once

#include <string>

#include <boost/describe/class.hpp>

#include "basalt/core/config.hpp"
#include "basalt/core/tls.hpp"

namespace basalt::service {

struct TlsConfig {
  std::string cert;
  std::string key;
  void validate(const core::config::Node& n) const;
  core::TlsCertificateSource source() const { return {cert, key}; }
};
BOOST_DESCRIBE_STRUCT(TlsConfig, (), (cert, key))

}  // namespace basalt::service
