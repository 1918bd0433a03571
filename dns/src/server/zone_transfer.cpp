#include "server/zone_transfer.hpp"

#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {
namespace {
constexpr std::size_t kMessageLimit =
    16384;  // like Knot: small enough to interleave, large enough to be quick
}

std::vector<std::vector<std::uint8_t>> build_transfer(const QueryState& query, const ZoneSet& zones,
                                                      bool allowed) {
  const Question& q = query.query.question;
  const Name& qname = q.name;
  std::vector<std::vector<std::uint8_t>> out;
  std::vector<std::uint8_t> buf(kMessageLimit);

  auto start = [&](MessageWriter& w, bool question) {
    w.header().id = query.id;
    w.header().qr = true;
    w.header().aa = true;
    if (question) w.add_question(qname, q.type, q.rclass);
  };
  auto single = [&](Rcode rcode) {
    MessageWriter w(buf, kMessageLimit);
    start(w, true);
    w.header().aa = false;
    w.set_rcode(static_cast<std::uint16_t>(rcode));
    auto n = w.finish();
    out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    return out;
  };

  if (!allowed) return single(Rcode::kRefused);
  auto zone = zones.get(qname);
  if (!zone) return single(Rcode::kNotAuth);

  auto records = zone->records();
  records.push_back(records.front());  // the closing SOA
  std::size_t i = 0;
  bool first = true;
  while (i < records.size()) {
    MessageWriter w(buf, kMessageLimit);
    start(w, first);
    std::size_t added = 0;
    while (i < records.size()) {
      const auto& r = records[i];
      auto cp = w.checkpoint();
      if (!w.add_record(Section::kAnswer, r.owner, r.type, r.rclass, r.ttl, r.rdata)) {
        w.rollback(cp);
        break;
      }
      ++i;
      ++added;
    }
    if (added == 0)
      return single(Rcode::kServFail);  // a record larger than a message: cannot happen for valid data
    w.header().tc = false;
    auto n = w.finish();
    out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    first = false;
  }
  return out;
}

}  // namespace basalt::dns
