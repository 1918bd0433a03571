// The validation certificate of a TLS-ALPN-01 challenge (RFC 8737): what a
// TLS server presents, instead of its own certificate, to a client that
// offers only the ALPN protocol "acme-tls/1" for a name being validated.
// The proxy makes one per pending challenge and selects it during the
// handshake.
//
// Thread-safe pure function; failures return nullopt with the reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "basalt/core/tls.hpp"

namespace basalt::acme {

// RFC 8737 TLS-ALPN-01 validation certificate for `domain` (a host name, no
// "*."; lowercased, a trailing dot dropped): a new ECDSA P-256 key, self-signed,
// subjectAltName with exactly that one dNSName, and the critical extension
// id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31) whose value is the DER OCTET
// STRING of SHA-256(key_authorization). Valid from 1 h ago (clock skew) for
// 7 days. nullopt + reason for a domain that is not a host name, an empty key
// authorization, or an OpenSSL failure. Thread-safe.
std::optional<core::PemCertificate> make_tls_alpn_certificate(std::string_view domain,
                                                              std::string_view key_authorization,
                                                              std::string* error = nullptr);

// The ALPN protocol of TLS-ALPN-01 validation connections (RFC 8737 §6.2).
inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

}  // namespace basalt::acme
