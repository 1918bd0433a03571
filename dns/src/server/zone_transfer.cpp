#include "server/zone_transfer.hpp"

#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {

TransferStream::TransferStream(const QueryState& query, const ZoneSet& zones, bool allowed)
    : id_(query.id), question_(query.query.question) {
  if (!allowed) {
    rcode_ = static_cast<std::uint16_t>(Rcode::kRefused);
    return;
  }
  zone_ = zones.get(question_.name);
  if (!zone_) {
    rcode_ = static_cast<std::uint16_t>(Rcode::kNotAuth);
    return;
  }
  rrsets_ = zone_->rrsets();
  rrsets_.push_back(rrsets_.front());  // the closing SOA
}

std::size_t TransferStream::single(std::span<std::uint8_t> out, std::uint16_t rcode) {
  done_ = true;
  MessageWriter w(out, kMessageLimit);
  w.header().id = id_;
  w.header().qr = true;
  w.add_question(question_.name, question_.type, question_.rclass);
  w.set_rcode(rcode);
  return w.finish();
}

std::size_t TransferStream::next(std::span<std::uint8_t> out) {
  if (done_) return 0;
  if (rcode_ != 0) return single(out, rcode_);
  MessageWriter w(out, kMessageLimit);
  w.header().id = id_;
  w.header().qr = true;
  w.header().aa = true;
  if (set_ == 0 && rdata_ == 0) w.add_question(question_.name, question_.type, question_.rclass);
  std::size_t added = 0;
  while (set_ < rrsets_.size()) {
    const auto& [owner, rrset] = rrsets_[set_];
    // The closing SOA is its first record only.
    bool last = set_ + 1 == rrsets_.size();
    if (rdata_ == rrset->rdatas.size() || (last && rdata_ == 1)) {
      ++set_;
      rdata_ = 0;
      continue;
    }
    auto cp = w.checkpoint();
    if (!w.add_record(Section::kAnswer, *owner, rrset->type, RRClass::kIN, rrset->ttl,
                      rrset->rdatas[rdata_])) {
      w.rollback(cp);
      break;
    }
    ++rdata_;
    ++added;
  }
  // A record larger than a message cannot come from valid data.
  if (added == 0) return single(out, static_cast<std::uint16_t>(Rcode::kServFail));
  if (set_ == rrsets_.size()) {
    done_ = true;
    zone_.reset();
    rrsets_ = {};
  }
  w.header().tc = false;
  return w.finish();
}

}  // namespace basalt::dns
