// Fuzzes the DNS message parser (MessageView) and everything that consumes a
// parsed message: copying into Message, re-serializing with compression,
// RDATA presentation text and its parser. Invariants checked:
//   parse(bytes) ok  =>  parse(write(parse(bytes))) ok and equal, and
//   writing that again gives the same octets;
//   every record's RDATA text parses back to the same RDATA.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/message_view.hpp"

using namespace basalt::dns;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_rdata_text(const Record& r) {
  std::string text = rdata_to_text(r.type, r.rdata);
  std::string error;
  auto back = rdata_from_text(r.type, text, Name(), &error);
  check(back.has_value() && *back == r.rdata);
  Bytes canonical = r.rdata;
  canonicalize_rdata(r.type, canonical);
  check(canonical.size() == r.rdata.size() && is_valid_rdata(r.type, canonical));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  MessageView view;
  if (view.parse(ByteSpan(data, size)) != WireError::kOk) return 0;
  // Walk every view the way a server would.
  view.for_each_question([](const QuestionView& q) { check(q.name.equals(q.name.to_name())); });
  for (auto s : {Section::kAnswer, Section::kAuthority, Section::kAdditional}) {
    for (const auto& rv : view.section(s)) check(rv.owner.equals(rv.owner.to_name()));
  }
  if (view.has_edns()) {
    auto e = view.edns();
    (void)e.cookie();
    (void)view.rcode();
  }
  Message m = Message::from_view(view);
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    for (const auto& r : *section) check_rdata_text(r);
  }
  (void)m.to_text();
  Bytes wire = m.to_wire();
  Message back;
  check(Message::parse(wire, back) == WireError::kOk);
  // Uncompressible names (SRV, DNAME, NAPTR targets) can grow past 65535
  // octets when re-written; then the writer truncates, which is correct.
  if (back.header.tc && !m.header.tc) return 0;
  back.header.qdcount = m.header.qdcount;
  back.header.ancount = m.header.ancount;
  back.header.nscount = m.header.nscount;
  back.header.arcount = m.header.arcount;
  check(back == m);
  check(back.to_wire() == wire);
  return 0;
}
