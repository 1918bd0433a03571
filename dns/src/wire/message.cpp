#include "basalt/dns/wire/message.hpp"

#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {

std::string Question::to_text() const {
  std::string s = name.to_string();
  s += ' ';
  s += to_string(rclass);
  s += ' ';
  s += to_string(type);
  return s;
}

std::string Record::to_text() const {
  std::string s = owner.to_string();
  s += ' ';
  s += std::to_string(ttl);
  s += ' ';
  s += to_string(rclass);
  s += ' ';
  s += to_string(type);
  std::string rd = rdata_to_text(type, rdata);
  if (!rd.empty()) {
    s += ' ';
    s += rd;
  }
  return s;
}

Record Record::canonical() const {
  Record r = *this;
  r.owner.lowercase();
  canonicalize_rdata(type, r.rdata);
  return r;
}

Message Message::from_view(const MessageView& view) {
  Message m;
  m.header = view.header();
  view.for_each_question([&](const QuestionView& q) {
    m.questions.push_back({q.name.to_name(), q.type, q.rclass});
  });
  auto copy = [](const RecordView& rv) {
    Record r{rv.owner.to_name(), rv.type, rv.rclass, rv.ttl, {}};
    rv.uncompressed_rdata(r.rdata);
    return r;
  };
  for (const auto& rv : view.answers()) m.answers.push_back(copy(rv));
  for (const auto& rv : view.authority()) m.authority.push_back(copy(rv));
  for (const auto& rv : view.additional()) {
    if (rv.type == RRType::kOPT) continue;
    m.additional.push_back(copy(rv));
  }
  if (view.has_edns()) m.edns = view.edns().to_edns();
  return m;
}

WireError Message::parse(ByteSpan wire, Message& out) {
  MessageView view;
  WireError e = view.parse(wire);
  if (e != WireError::kOk) return e;
  out = from_view(view);
  return WireError::kOk;
}

std::uint16_t Message::rcode() const noexcept {
  std::uint16_t r = header.rcode & 15;
  if (edns) r = static_cast<std::uint16_t>(r | (edns->extended_rcode << 4));
  return r;
}

void Message::set_rcode(std::uint16_t rcode) {
  header.rcode = static_cast<std::uint8_t>(rcode & 15);
  if (rcode > 15) {
    if (!edns) edns.emplace();
    edns->extended_rcode = static_cast<std::uint8_t>(rcode >> 4);
  } else if (edns) {
    edns->extended_rcode = 0;
  }
}

Bytes Message::to_wire(std::size_t limit) const {
  Bytes buf(std::min<std::size_t>(limit, 65535));
  MessageWriter w(buf, limit);
  w.header() = header;
  if (edns) w.set_edns(*edns);
  w.set_rcode(rcode());
  for (const auto& q : questions) w.add_question(q.name, q.type, q.rclass);
  for (const auto& r : answers)
    if (!w.add_record(Section::kAnswer, r.owner, r.type, r.rclass, r.ttl, r.rdata)) break;
  for (const auto& r : authority)
    if (!w.add_record(Section::kAuthority, r.owner, r.type, r.rclass, r.ttl, r.rdata)) break;
  for (const auto& r : additional)
    w.add_record(Section::kAdditional, r.owner, r.type, r.rclass, r.ttl, r.rdata);
  buf.resize(w.finish());
  return buf;
}

std::string Message::to_text() const {
  std::string s = ";; opcode: " + to_string(header.opcode) +
                  ", status: " + to_string(static_cast<Rcode>(rcode())) +
                  ", id: " + std::to_string(header.id) + "\n;; flags:";
  if (header.qr) s += " qr";
  if (header.aa) s += " aa";
  if (header.tc) s += " tc";
  if (header.rd) s += " rd";
  if (header.ra) s += " ra";
  if (header.ad) s += " ad";
  if (header.cd) s += " cd";
  s += "\n";
  if (edns) {
    s += ";; EDNS: version " + std::to_string(edns->version) + ", udp " +
         std::to_string(edns->udp_payload_size);
    if (edns->dnssec_ok) s += ", do";
    s += ", options " + std::to_string(edns->options.size()) + "\n";
  }
  s += ";; QUESTION\n";
  for (const auto& q : questions) s += ";" + q.to_text() + "\n";
  auto section = [&](const char* title, const std::vector<Record>& rs) {
    if (rs.empty()) return;
    s += ";; ";
    s += title;
    s += "\n";
    for (const auto& r : rs) s += r.to_text() + "\n";
  };
  section("ANSWER", answers);
  section("AUTHORITY", authority);
  section("ADDITIONAL", additional);
  return s;
}

}  // namespace basalt::dns
