// An owned, mutable DNS message: header, sections and EDNS as values.
//
// Use Message where convenience beats speed: clients, tests, tools, the
// management protocol's processPacket. Servers should read queries with
// MessageView and answer with MessageWriter instead (no allocation).
// Parsing never throws; a Message is a plain value (not thread-safe to mutate).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "basalt/dns/wire/edns.hpp"
#include "basalt/dns/wire/header.hpp"
#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/record.hpp"

namespace basalt::dns {

struct Message {
  // Counts in `header` are ignored when writing and set when parsing.
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  // without the OPT record (see `edns`)
  std::optional<Edns> edns;

  // Parses and copies `wire`. On failure returns the error and leaves `out`
  // in an unspecified but valid state.
  static WireError parse(ByteSpan wire, Message& out);
  // Copies out of an already validated view.
  static Message from_view(const MessageView& view);

  // The full 12-bit RCODE (header plus EDNS extended bits).
  std::uint16_t rcode() const noexcept;
  void set_rcode(std::uint16_t rcode);

  // Serializes with name compression. If the message exceeds `limit`,
  // records that do not fit are dropped and TC is set as MessageWriter does.
  Bytes to_wire(std::size_t limit = 65535) const;

  // A dig-like text dump, for logs and tests.
  std::string to_text() const;

  friend bool operator==(const Message&, const Message&) = default;
};

}  // namespace basalt::dns
