#include "basalt/dns/server/responder.hpp"

#include <spdlog/spdlog.h>

#include <array>

namespace basalt::dns {
namespace {

constexpr std::size_t kMaxCnameChain = 8;

struct Context {
  Name qname;
  RRType qtype{};
  RRClass qclass{};
  Transport transport{};
  std::uint16_t id = 0;
  Opcode opcode = Opcode::kQuery;
  bool rd = false, cd = false;
  bool edns = false, dnssec_ok = false;
  std::size_t limit = 512;
};

const Name& localhost_name() {
  static const Name n = *Name::from_text("localhost.");
  return n;
}

// Header, question and OPT of a response.
void begin(MessageWriter& w, const Context& c, std::uint16_t max_payload, bool with_question) {
  auto& h = w.header();
  h.id = c.id;
  h.qr = true;
  h.opcode = c.opcode;
  h.rd = c.rd;
  h.cd = c.cd;
  if (with_question) w.add_question(c.qname, c.qtype, c.qclass);
  if (c.edns) w.set_edns(max_payload, 0, c.dnssec_ok);
}

// Adds an RRset; in the additional section an RRset that does not fit whole is left out.
bool add_rrset(MessageWriter& w, Section section, const Name& owner, RRType type, std::uint32_t ttl,
               const std::vector<Bytes>& rdatas) {
  auto cp = w.checkpoint();
  for (const auto& rd : rdatas) {
    if (!w.add_record(section, owner, type, RRClass::kIN, ttl, rd)) {
      if (section == Section::kAdditional) w.rollback(cp);
      return false;
    }
  }
  return true;
}

void add_additional(MessageWriter& w, const ZoneNode& node, const RRset* rrset) {
  const auto* targets = node.additional_for(rrset);
  if (!targets) return;
  for (const auto& t : *targets) {
    if (t.a) add_rrset(w, Section::kAdditional, t.name, RRType::kA, t.a->ttl, t.a->rdatas);
    if (t.aaaa) add_rrset(w, Section::kAdditional, t.name, RRType::kAAAA, t.aaaa->ttl, t.aaaa->rdatas);
  }
}

void add_negative_soa(MessageWriter& w, const Zone& zone) {
  add_rrset(w, Section::kAuthority, zone.apex(), RRType::kSOA, zone.negative_ttl(), zone.soa().rdatas);
}

std::optional<Name> cname_target(const RRset& cname) {
  return Name::from_wire(cname.rdatas.front());
}

std::size_t finish(MessageWriter& w, Rcode rcode, bool aa, ResponseInfo& info) {
  w.header().aa = aa;
  w.set_rcode(static_cast<std::uint16_t>(rcode));
  info.rcode = rcode;
  info.truncated = w.truncated();
  return w.finish();
}

std::size_t error_response(std::span<std::uint8_t> out, const Context& c, Rcode rcode, bool with_question,
                           std::uint16_t max_payload, ResponseInfo& info) {
  MessageWriter w(out, c.limit);
  begin(w, c, max_payload, with_question);
  return finish(w, rcode, false, info);
}

// Follows a CNAME chain from `target` through our zones, appending to the
// answer. Returns the rcode of the last name (RFC 6604).
Rcode follow_cname(MessageWriter& w, const ServerData& data, Name target, RRType qtype) {
  for (std::size_t hop = 0; hop < kMaxCnameChain; ++hop) {
    const Zone* zone = data.zones.find(target);
    if (!zone) return Rcode::kNoError;  // not ours: the resolver continues
    auto lk = zone->lookup(target, qtype);
    if (lk.match == Zone::Match::kDelegation) return Rcode::kNoError;
    if (lk.match == Zone::Match::kNxdomain) {
      add_negative_soa(w, *zone);
      return Rcode::kNXDomain;
    }
    if (const RRset* rr = lk.node->find(qtype)) {
      add_rrset(w, Section::kAnswer, target, qtype, rr->ttl, rr->rdatas);
      add_additional(w, *lk.node, rr);
      return Rcode::kNoError;
    }
    const RRset* cname = lk.node->find(RRType::kCNAME);
    if (!cname) {
      add_negative_soa(w, *zone);  // NODATA at the end of the chain
      return Rcode::kNoError;
    }
    if (!add_rrset(w, Section::kAnswer, target, RRType::kCNAME, cname->ttl, cname->rdatas))
      return Rcode::kNoError;
    auto next = cname_target(*cname);
    if (!next) return Rcode::kServFail;
    target = *next;
  }
  return Rcode::kNoError;  // chain too long: stop, as Knot does
}

}  // namespace

bool Responder::all_sync(const PendingQuery& pending) noexcept {
  for (const auto* h : pending.handlers) {
    if (!h->sync) return false;
  }
  return true;
}

Responder::Status Responder::respond(std::span<const std::uint8_t> bytes, Transport transport,
                                     const std::shared_ptr<const ServerData>& data_ptr,
                                     std::span<std::uint8_t> out, std::size_t& out_size,
                                     PendingQuery& pending, ResponseInfo& info) const {
  if (bytes.size() < Header::kSize) return Status::kDropped;
  MessageView view;
  WireError err = view.parse(bytes);
  const Header& qh = view.header();
  if (qh.qr) return Status::kDropped;  // never answer a response

  Context c;
  c.transport = transport;
  c.id = qh.id;
  c.opcode = qh.opcode;
  c.rd = qh.rd;
  c.cd = qh.cd;
  // Manual mode follows the UDP size rules: its callers own a UDP socket.
  const bool datagram = transport == Transport::kUdp || transport == Transport::kManual;
  c.limit = datagram ? 512 : 65535;
  const auto max_payload = options_.max_udp_payload;

  if (err != WireError::kOk) {
    out_size = error_response(out, c, Rcode::kFormErr, false, max_payload, info);
    return Status::kAnswered;
  }
  if (view.has_edns()) {
    auto e = view.edns();
    c.edns = true;
    c.dnssec_ok = e.dnssec_ok;
    if (datagram) {
      c.limit = std::clamp<std::size_t>(e.udp_payload_size, 512, max_payload);
    }
    bool bad_cookie = false;
    (void)e.cookie(&bad_cookie);
    if (bad_cookie) {
      out_size = error_response(out, c, Rcode::kFormErr, false, max_payload, info);
      return Status::kAnswered;
    }
    if (e.version != 0) {
      out_size = error_response(out, c, Rcode::kBadVers, false, max_payload, info);
      return Status::kAnswered;
    }
  }
  if (qh.qdcount != 1) {
    out_size = error_response(out, c, qh.opcode == Opcode::kQuery ? Rcode::kFormErr : Rcode::kNotImp, false,
                              max_payload, info);
    return Status::kAnswered;
  }
  auto q = view.question();
  c.qname = q.name.to_name();
  c.qtype = q.type;
  c.qclass = q.rclass;
  info.qtype = c.qtype;
  if (qh.opcode != Opcode::kQuery) {
    out_size = error_response(out, c, Rcode::kNotImp, true, max_payload, info);
    return Status::kAnswered;
  }
  switch (c.qtype) {
    case RRType::kOPT:
    case RRType::kTSIG:
    case RRType::kTKEY:
      out_size = error_response(out, c, Rcode::kFormErr, true, max_payload, info);
      return Status::kAnswered;
    case RRType::kAXFR:
    case RRType::kIXFR:  // transfers are served by the TCP listener before this point
      out_size = error_response(out, c, Rcode::kNotImp, true, max_payload, info);
      return Status::kAnswered;
    default:
      break;
  }
  if (c.qclass != RRClass::kIN && c.qclass != RRClass::kANY) {
    out_size = error_response(out, c, Rcode::kRefused, true, max_payload, info);
    return Status::kAnswered;
  }

  MessageWriter w(out, c.limit);
  begin(w, c, max_payload, true);

  // RFC 6761 §6.3: localhost. and names below it are loopback.
  if (options_.localhost && c.qname.is_subdomain_of(localhost_name())) {
    static const Bytes v4{127, 0, 0, 1};
    static const Bytes v6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (c.qtype == RRType::kA || c.qtype == RRType::kANY) {
      w.add_record(Section::kAnswer, c.qname, RRType::kA, RRClass::kIN, 0, v4);
    }
    if (c.qtype == RRType::kAAAA || c.qtype == RRType::kANY) {
      w.add_record(Section::kAnswer, c.qname, RRType::kAAAA, RRClass::kIN, 0, v6);
    }
    out_size = finish(w, Rcode::kNoError, true, info);
    return Status::kAnswered;
  }

  const ServerData& data = *data_ptr;
  const Zone* zone = data.zones.find(c.qname);
  auto ask_handlers = [&](const Zone* z) {
    pending.query.question = Question{c.qname, c.qtype, c.qclass};
    pending.query.transport = transport;
    pending.query.client.clear();
    pending.query.dnssec_ok = c.dnssec_ok;
    pending.id = c.id;
    pending.rd = c.rd;
    pending.cd = c.cd;
    pending.edns = c.edns;
    pending.limit = c.limit;
    pending.name_exists = true;
    pending.data = data_ptr;
    pending.zone = z;
    return Status::kNeedsHandlers;
  };
  if (!zone) {
    if (data.fallback) {
      // Offered to the fallback handler; REFUSED if it has nothing (complete()).
      pending.handlers.assign(1, data.fallback.get());
      return ask_handlers(nullptr);
    }
    out_size = finish(w, Rcode::kRefused, false, info);
    return Status::kAnswered;
  }

  auto lk = zone->lookup(c.qname, c.qtype);
  bool name_exists = false;
  switch (lk.match) {
    case Zone::Match::kDelegation: {
      const RRset* ns = lk.node->find(RRType::kNS);
      add_rrset(w, Section::kAuthority, lk.node_name, RRType::kNS, ns->ttl, ns->rdatas);
      add_additional(w, *lk.node, ns);
      out_size = finish(w, Rcode::kNoError, false, info);  // a referral is not authoritative
      return Status::kAnswered;
    }
    case Zone::Match::kExact:
    case Zone::Match::kWildcard: {
      const ZoneNode& node = *lk.node;
      name_exists = true;
      if (c.qtype == RRType::kANY && !node.rrsets.empty()) {
        if (datagram) {
          // RFC 8482 §4.2: one synthesized HINFO instead of everything.
          static const Bytes hinfo{7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
          w.add_record(Section::kAnswer, c.qname, RRType::kHINFO, RRClass::kIN, 3600, hinfo);
        } else {
          for (const auto& s : node.rrsets) add_rrset(w, Section::kAnswer, c.qname, s.type, s.ttl, s.rdatas);
        }
        out_size = finish(w, Rcode::kNoError, true, info);
        return Status::kAnswered;
      }
      if (const RRset* rr = node.find(c.qtype)) {
        add_rrset(w, Section::kAnswer, c.qname, c.qtype, rr->ttl, rr->rdatas);
        add_additional(w, node, rr);
        out_size = finish(w, Rcode::kNoError, true, info);
        return Status::kAnswered;
      }
      if (const RRset* cname = node.find(RRType::kCNAME)) {
        Rcode rcode = Rcode::kNoError;
        if (add_rrset(w, Section::kAnswer, c.qname, RRType::kCNAME, cname->ttl, cname->rdatas)) {
          if (auto target = cname_target(*cname)) rcode = follow_cname(w, data, *target, c.qtype);
        }
        out_size = finish(w, rcode, true, info);
        return Status::kAnswered;
      }
      break;
    }
    case Zone::Match::kNxdomain:
      break;
  }

  // Zone data has no answer: the handlers are next.
  std::array<char, 256> subject_buf;
  auto subject = match_subject(c.qname, subject_buf);
  pending.handlers.clear();
  bool pattern_matched = data.handlers.match(subject, c.qtype, pending.handlers);
  if (pending.handlers.empty() && data.fallback) pending.handlers.push_back(data.fallback.get());
  if (!pending.handlers.empty()) return ask_handlers(zone);
  add_negative_soa(w, *zone);
  out_size = finish(w, (name_exists || pattern_matched) ? Rcode::kNoError : Rcode::kNXDomain, true, info);
  return Status::kAnswered;
}

std::size_t Responder::complete(const PendingQuery& p, std::vector<Record>&& records, bool failed,
                                std::span<std::uint8_t> out, ResponseInfo& info) const {
  Context c;
  c.qname = p.query.question.name;
  c.qtype = p.query.question.type;
  c.qclass = p.query.question.rclass;
  c.transport = p.query.transport;
  c.id = p.id;
  c.rd = p.rd;
  c.cd = p.cd;
  c.edns = p.edns;
  c.dnssec_ok = p.query.dnssec_ok;
  c.limit = p.limit;
  info.qtype = c.qtype;
  info.from_handlers = true;
  MessageWriter w(out, c.limit);
  begin(w, c, options_.max_udp_payload, true);
  if (failed) return finish(w, Rcode::kServFail, false, info);

  std::size_t added = 0;
  for (auto& r : records) {
    // Only what answers the question: records of the asked type (any type
    // for ANY) and CNAMEs; invalid RDATA from user code is left out.
    if (c.qtype != RRType::kANY && r.type != c.qtype && r.type != RRType::kCNAME) continue;
    if (!is_valid_rdata(r.type, r.rdata)) {
      spdlog::warn("handler answer for {} dropped: invalid {} RDATA", c.qname.to_string(), to_string(r.type));
      continue;
    }
    const Name& owner = r.owner == c.qname ? c.qname : r.owner;  // echo the question's case
    if (!w.add_record(Section::kAnswer, owner, r.type, RRClass::kIN, r.ttl, r.rdata)) break;
    ++added;
  }
  if (!p.zone) {
    // Outside our zones (only the fallback handler is asked there): its
    // answer is passed on, not authoritative; nothing at all is REFUSED.
    return finish(w, added == 0 ? Rcode::kRefused : Rcode::kNoError, false, info);
  }
  if (added == 0) add_negative_soa(w, *p.zone);  // NODATA: a pattern matched
  return finish(w, Rcode::kNoError, true, info);
}

std::size_t Responder::run_sync_handlers(const PendingQuery& p, std::span<std::uint8_t> out,
                                         ResponseInfo& info) const {
  std::vector<Record> records;
  bool failed = false;
  for (const auto* h : p.handlers) {
    try {
      auto part = h->sync(p.query);
      records.insert(records.end(), std::make_move_iterator(part.begin()),
                     std::make_move_iterator(part.end()));
    } catch (const std::exception& e) {
      spdlog::warn("handler {} failed for {}: {}", h->glob.pattern(), p.query.question.name.to_string(),
                   e.what());
      failed = true;
      break;
    } catch (...) {
      failed = true;
      break;
    }
  }
  return complete(p, std::move(records), failed, out, info);
}

}  // namespace basalt::dns
