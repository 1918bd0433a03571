// Conversions between basalt::core IP types and Boost.Asio's.
//
// Include this only in Asio-using code; ip.hpp itself stays free of Asio.
// All conversions are lossless (scope ids included), noexcept and pure.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/basic_endpoint.hpp>

#include "basalt/core/ip.hpp"

namespace basalt::core {

inline boost::asio::ip::address to_asio(const IpAddress& a) noexcept {
  if (a.is_v4()) return boost::asio::ip::address_v4(a.v4_value());
  boost::asio::ip::address_v6::bytes_type b;
  std::copy(a.bytes().begin(), a.bytes().end(), b.begin());
  return boost::asio::ip::address_v6(b, a.scope_id());
}

inline IpAddress from_asio(const boost::asio::ip::address& a) noexcept {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_uint());
  auto v6 = a.to_v6();
  auto b = v6.to_bytes();
  std::array<std::uint8_t, 16> bytes;
  std::copy(b.begin(), b.end(), bytes.begin());
  return IpAddress::v6(bytes, static_cast<std::uint32_t>(v6.scope_id()));
}

// E.g. to_asio<boost::asio::ip::udp>(endpoint).
template <class Protocol>
boost::asio::ip::basic_endpoint<Protocol> to_asio(const Endpoint& e) noexcept {
  return {to_asio(e.address), e.port};
}

template <class Protocol>
Endpoint from_asio(const boost::asio::ip::basic_endpoint<Protocol>& e) noexcept {
  return {from_asio(e.address()), e.port()};
}

}  // namespace basalt::core
