#include "basalt/dns/server/responder.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "basalt/dns/dnssec/nsec3.hpp"
#include "basalt/dns/dnssec/white_lies.hpp"

namespace basalt::dns {
namespace {

constexpr std::size_t kMaxCnameChain = 8;

const Name& localhost_name() {
  static const Name n = *Name::from_text("localhost.");
  return n;
}

// Header, question and OPT of a response.
void begin(MessageWriter& w, const QueryState& c, std::uint16_t max_payload, bool with_question) {
  auto& h = w.header();
  h.id = c.id;
  h.qr = true;
  h.opcode = c.opcode;
  h.rd = c.rd;
  h.cd = c.cd;
  const Question& q = c.query.question;
  if (with_question) w.add_question(q.name, q.type, q.rclass);
  if (c.edns) {
    // The cookie goes in every answer to a query that had one (RFC 7873 §5.2).
    EdnsOptionRef cookie{static_cast<std::uint16_t>(EdnsOptionCode::kCookie),
                         {c.cookie.data(), c.cookie_size}};
    w.set_edns(max_payload, 0, c.query.dnssec_ok, {&cookie, c.cookie_size ? 1u : 0u});
  }
}

// Checks the query's COOKIE option and keeps the answer's in `c`. Without a
// client address (manual mode) no server cookie can be made: the option is
// ignored, as by a server that does not implement cookies (RFC 7873 §5.2.1).
void take_cookie(const ServerCookies* cookies, const Cookie& cookie, QueryState& c) {
  if (!cookies || !c.client) return;
  auto r = cookies->check(cookie, c.client->address, ServerCookies::now());
  c.cookie_check = r.check;
  c.valid_server_cookie = r.check == CookieCheck::kValid;
  c.cookie = r.option;
  c.cookie_size = static_cast<std::uint8_t>(r.option.size());
}

// Adds one record, keeping the smallest TTL of the answer and authority
// sections in `state` (DoH's max-age, without parsing the answer again).
bool add_record(MessageWriter& w, QueryState& state, Section section, const Name& owner, RRType type,
                std::uint32_t ttl, std::span<const std::uint8_t> rdata) {
  if (!w.add_record(section, owner, type, RRClass::kIN, ttl, rdata)) return false;
  if (section != Section::kAdditional) {
    auto& smallest = section == Section::kAnswer ? state.answer_ttl : state.authority_ttl;
    if (!smallest || ttl < *smallest) smallest = ttl;
  }
  return true;
}

// RFC 8482 §4.2: the one record an ANY query over UDP gets instead of everything.
const std::vector<Bytes>& rfc8482_hinfo() {
  static const std::vector<Bytes> hinfo{{7, 'R', 'F', 'C', '8', '4', '8', '2', 0}};
  return hinfo;
}

std::optional<Name> cname_target(const RRset& cname) {
  return Name::from_wire(cname.rdatas.front());
}

std::size_t finish(MessageWriter& w, Rcode rcode, bool aa, QueryState& state) {
  w.header().aa = aa;
  w.set_rcode(static_cast<std::uint16_t>(rcode));
  state.rcode = rcode;
  state.truncated = w.truncated();
  return w.finish();
}

std::size_t error_response(std::span<std::uint8_t> out, QueryState& c, Rcode rcode, bool with_question,
                           std::uint16_t max_payload) {
  MessageWriter w(out, c.limit);
  begin(w, c, max_payload, with_question);
  return finish(w, rcode, false, c);
}

// Every type a handler that answers all types might have, for the bitmap
// of an NSEC at a name only handlers know: a NODATA for one type must not
// let a resolver's aggressive NSEC cache (RFC 8198) deny the others. Types
// that would change the meaning of the NSEC (NS, SOA, CNAME, DNAME, DS and
// the DNSSEC types) are left out.
const std::vector<RRType>& all_handler_types() {
  static const std::vector<RRType> types = [] {
    std::vector<RRType> t;
    for (std::uint16_t v = 1; v < 128; ++v) {
      auto type = static_cast<RRType>(v);
      switch (type) {
        case RRType::kNS:
        case RRType::kSOA:
        case RRType::kCNAME:
        case RRType::kDNAME:
        case RRType::kDS:
        case RRType::kOPT:
        case RRType::kRRSIG:
        case RRType::kNSEC:
        case RRType::kDNSKEY:
        case RRType::kNSEC3:
        case RRType::kNSEC3PARAM:
        case RRType::kCDS:
        case RRType::kCDNSKEY:
          continue;
        default:
          t.push_back(type);
      }
    }
    t.push_back(static_cast<RRType>(256));  // URI
    t.push_back(RRType::kCAA);
    return t;
  }();
  return types;
}

// The RRsets of the apex that come from the signer, not the zone data.
bool is_apex_signer_type(RRType t, const ZoneSigner& signer) {
  return t == RRType::kDNSKEY || t == RRType::kCDS || t == RRType::kCDNSKEY ||
         (t == RRType::kNSEC3PARAM && signer.nsec3());
}

// Writes one response: records in section order, with RRSIGs when a zone's
// signer is given. The parts of a signed answer that belong to later sections
// than where they are found (the NSECs proving that wildcard-expanded names
// do not exist; the additional records) are kept and written by flush().
class AnswerWriter {
 public:
  AnswerWriter(MessageWriter& w, const ServerData& data, QueryState& state)
      : w_(w), data_(data), state_(state), dnssec_ok_(state.query.dnssec_ok) {}

  const ServerData& data() const { return data_; }
  // The signer for answers from `zone`: only with DO.
  const ZoneSigner* signer(const Zone& zone) const { return dnssec_ok_ ? data_.signer(zone) : nullptr; }

  // Adds an RRset and its RRSIGs (signed as `sign_owner`, e.g. the wildcard,
  // when given). In the additional section an RRset that does not fit whole
  // is left out; elsewhere the writer sets TC.
  bool rrset(Section section, const Name& owner, RRType type, std::uint32_t ttl,
             const std::vector<Bytes>& rdatas, const ZoneSigner* signer = nullptr,
             const Name* sign_owner = nullptr) {
    auto cp = w_.checkpoint();
    auto fail = [&] {
      if (section == Section::kAdditional) w_.rollback(cp);
      return false;
    };
    for (const auto& rd : rdatas) {
      if (!add_record(w_, state_, section, owner, type, ttl, rd)) return fail();
    }
    if (!signer) return true;
    std::shared_ptr<const ZoneSigner::Signatures> sigs;
    try {
      sigs = signer->sign(sign_owner ? *sign_owner : owner, type, ttl, rdatas);
    } catch (const std::exception& e) {
      spdlog::error("signing {} {} failed: {}", owner.to_string(), to_string(type), e.what());
      return true;  // unsigned: validators will call it bogus, as they should
    }
    for (const auto& sig : *sigs) {
      if (!add_record(w_, state_, section, owner, RRType::kRRSIG, ttl, sig)) return fail();
    }
    return true;
  }

  // The answer RRset found by a zone lookup: a wildcard answer is signed as
  // the wildcard and needs the NSEC proving the name itself does not exist.
  bool answer(const Zone& zone, const Zone::Lookup& lk, const Name& qname, const RRset& rr) {
    const ZoneSigner* s = signer(zone);
    bool wildcard = lk.match == Zone::Match::kWildcard;
    if (!rrset(Section::kAnswer, qname, rr.type, rr.ttl, rr.rdatas, s, wildcard ? &lk.node_name : nullptr))
      return false;
    if (s && wildcard) defer_cover(zone, s, next_closer(qname, lk.node_name.parent()));
    return true;
  }

  void negative_soa(const Zone& zone) {
    const DenialChain* c = dnssec_ok_ ? data_.denial(zone) : nullptr;
    if (!c) {
      rrset(Section::kAuthority, zone.apex(), RRType::kSOA, zone.negative_ttl(), zone.soa().rdatas,
            signer(zone));
      return;
    }
    // Signed with the chain, like its NSECs: no signing or cache lookup per answer.
    for (const auto& rd : zone.soa().rdatas) {
      if (!add_record(w_, state_, Section::kAuthority, zone.apex(), RRType::kSOA, c->ttl(), rd)) return;
    }
    for (const auto& sig : c->negative_soa_signatures()) {
      if (!add_record(w_, state_, Section::kAuthority, zone.apex(), RRType::kRRSIG, c->ttl(), sig)) return;
    }
  }

  // The zone's precomputed chain if it proves what `name` is, else null (white lies).
  const DenialChain* chain(const Zone& zone, const Name& name) const {
    const DenialChain* c = data_.denial(zone);
    return c && c->answers(name) ? c : nullptr;
  }

  // NSEC at a name that exists with these types (NODATA): the chain's, or
  // `owner NSEC \000.owner`. With NSEC3: the NSEC3 matching `owner`.
  void nsec_at(const Zone& zone, const ZoneSigner* s, const Name& owner, std::vector<RRType> types) {
    if (s->nsec3()) return nsec3_at(zone, s, owner, std::move(types));
    if (const DenialChain* c = chain(zone, owner)) return chain_nsec(*c, c->nsec_covering(owner));
    types.push_back(RRType::kRRSIG);
    types.push_back(RRType::kNSEC);
    std::vector<Bytes> rd{nsec_rdata(white_lie_child(owner), std::move(types))};
    rrset(Section::kAuthority, owner, RRType::kNSEC, zone.negative_ttl(), rd, s);
  }

  // NSEC covering `name` and its subtree (proof that it does not exist).
  // With NSEC3: the NSEC3 covering its hash (`h-1 NSEC3 h+1` as a white lie).
  void cover(const Zone& zone, const ZoneSigner* s, const Name& name) {
    if (s->nsec3()) {
      const Nsec3Params& params = *s->nsec3();
      const Nsec3Hash hash = nsec3_hash(name, params);
      if (const DenialChain* c = chain(zone, name)) return chain_nsec(*c, c->nsec3_covering(hash));
      std::vector<Bytes> rd{nsec3_rdata(params, nsec3_successor(hash), {})};
      rrset(Section::kAuthority, nsec3_owner(nsec3_predecessor(hash), zone.apex()), RRType::kNSEC3,
            zone.negative_ttl(), rd, s);
      return;
    }
    if (const DenialChain* c = chain(zone, name)) return chain_nsec(*c, c->nsec_covering(name));
    auto before = white_lie_predecessor(name);
    if (!before || !before->is_subdomain_of(zone.apex()) || *before == zone.apex()) return;
    std::vector<Bytes> rd{nsec_rdata(white_lie_successor(name), {RRType::kRRSIG, RRType::kNSEC})};
    rrset(Section::kAuthority, *before, RRType::kNSEC, zone.negative_ttl(), rd, s);
  }

  // The NSEC3 matching `owner`, which exists with these types (without
  // RRSIG): the chain's, or `h NSEC3 h+1`.
  void nsec3_at(const Zone& zone, const ZoneSigner* s, const Name& owner, std::vector<RRType> types) {
    if (const DenialChain* c = chain(zone, owner)) {
      if (auto e = c->nsec3_encloser(owner)) return chain_nsec(*c, *e->matching);
    }
    const Nsec3Params& params = *s->nsec3();
    const Nsec3Hash hash = nsec3_hash(owner, params);
    // RRSIG where something is signed: not at an empty non-terminal nor an insecure delegation.
    const bool insecure_cut = types.size() == 1 && types.front() == RRType::kNS && !(owner == zone.apex());
    if (!types.empty() && !insecure_cut) types.push_back(RRType::kRRSIG);
    std::vector<Bytes> rd{nsec3_rdata(params, nsec3_successor(hash), std::move(types))};
    rrset(Section::kAuthority, nsec3_owner(hash, zone.apex()), RRType::kNSEC3, zone.negative_ttl(), rd, s);
  }

  // One NSEC of a chain with its signatures, written once per answer (the
  // same record often covers both the next closer name and the wildcard).
  void chain_nsec(const DenialChain& c, const DenialChain::Nsec& nsec) {
    for (std::size_t i = 0; i < chain_written_; ++i) {
      if (chain_nsecs_[i] == &nsec) return;
    }
    if (chain_written_ < chain_nsecs_.size()) chain_nsecs_[chain_written_++] = &nsec;
    if (!add_record(w_, state_, Section::kAuthority, nsec.owner, c.type(), c.ttl(), nsec.rdata.front()))
      return;
    for (const auto& sig : nsec.signatures) {
      if (!add_record(w_, state_, Section::kAuthority, nsec.owner, RRType::kRRSIG, c.ttl(), sig)) return;
    }
  }

  void defer_cover(const Zone& zone, const ZoneSigner* s, const Name& name) {
    if (covers_ < deferred_.size()) deferred_[covers_++] = {name, &zone, s};
  }
  void defer_additional(const Zone& zone, const ZoneNode& node, const RRset* rr) {
    additional_ = {&zone, &node, rr};
  }

  // Writes what was kept for later sections.
  void flush() {
    for (std::size_t i = 0; i < covers_; ++i)
      cover(*deferred_[i].zone, deferred_[i].signer, deferred_[i].name);
    covers_ = 0;
    if (!additional_.node) return;
    const auto* targets = additional_.node->additional_for(additional_.rrset);
    if (!targets) return;
    const Zone& zone = *additional_.zone;
    const ZoneSigner* s = signer(zone);
    for (const auto& t : *targets) {
      // Glue below a zone cut is not ours to sign (RFC 4035 §2.2).
      const ZoneSigner* ts =
          s && zone.lookup(t.name, RRType::kA).match != Zone::Match::kDelegation ? s : nullptr;
      if (t.a) rrset(Section::kAdditional, t.name, RRType::kA, t.a->ttl, t.a->rdatas, ts);
      if (t.aaaa) rrset(Section::kAdditional, t.name, RRType::kAAAA, t.aaaa->ttl, t.aaaa->rdatas, ts);
    }
  }

  // The ancestor of `qname` one label below `ce` (RFC 5155's "next closer name").
  static Name next_closer(const Name& qname, const Name& ce) {
    return qname.parent(qname.label_count() - ce.label_count() - 1);
  }

 private:
  struct Cover {
    Name name;
    const Zone* zone = nullptr;
    const ZoneSigner* signer = nullptr;
  };
  struct Additional {
    const Zone* zone = nullptr;
    const ZoneNode* node = nullptr;
    const RRset* rrset = nullptr;
  };
  MessageWriter& w_;
  const ServerData& data_;
  QueryState& state_;
  bool dnssec_ok_;
  std::array<Cover, kMaxCnameChain + 1> deferred_;
  std::size_t covers_ = 0;
  Additional additional_;
  std::array<const DenialChain::Nsec*, 2 * (kMaxCnameChain + 1)> chain_nsecs_{};
  std::size_t chain_written_ = 0;
};

// The types at a node for its NSEC or NSEC3 bitmap (RRSIG and NSEC are
// added by nsec_at); at the apex also those `signer` serves there, if given.
std::vector<RRType> node_types(const Zone& zone, const ZoneNode* node, const Name& name,
                               const ZoneSigner* signer) {
  std::vector<RRType> types;
  if (node) {
    for (const auto& s : node->rrsets) types.push_back(s.type);
  }
  if (signer && name == zone.apex()) {
    types.push_back(RRType::kDNSKEY);
    types.push_back(RRType::kCDS);
    types.push_back(RRType::kCDNSKEY);
    if (signer->nsec3()) types.push_back(RRType::kNSEC3PARAM);
  }
  return types;
}

// Adds the types handlers may answer for `name` (all of them when a pattern
// answers every type, or a fallback handler is set); false if no pattern matches.
bool add_handler_types(const ServerData& data, const Name& name, std::vector<RRType>& types) {
  std::array<char, 256> buf;
  auto subject = match_subject(name, buf);
  bool any = false, all = static_cast<bool>(data.fallback);
  for (const auto& e : data.handlers.entries()) {
    if (!e->glob.match(subject)) continue;
    any = true;
    if (e->types.empty()) all = true;
    types.insert(types.end(), e->types.begin(), e->types.end());
  }
  if (all) types.insert(types.end(), all_handler_types().begin(), all_handler_types().end());
  return any || all;
}

// The deepest ancestor of `qname` that exists: in the zone data (`zone_ce`),
// because a handler pattern matches it, or in the zone's denial chain.
Name existing_encloser(const ServerData& data, const Zone& zone, const Name& qname, const Name& zone_ce) {
  std::vector<RRType> ignored;
  const DenialChain* chain = data.denial(zone);
  for (std::size_t k = 1; qname.label_count() - k > zone_ce.label_count(); ++k) {
    Name ancestor = qname.parent(k);
    if (data.handlers.has_names_at_or_below(ancestor) || add_handler_types(data, ancestor, ignored))
      return ancestor;
    // The chain's name just after a region exists as far as validators know.
    if (chain && chain->answers(ancestor) && chain->nsec_at(ancestor)) return ancestor;
  }
  return zone_ce;
}

// The NODATA proof for `qname`, which exists (zone data at `node`, or handler
// patterns) but has no `qtype`.
void nodata_proof(AnswerWriter& a, const Zone& zone, const ZoneSigner* s, const Name& qname, RRType qtype,
                  const ZoneNode* node) {
  if (a.chain(zone, qname)) return a.nsec_at(zone, s, qname, {});  // the chain's bitmap
  auto types = node_types(zone, node, qname, s);
  add_handler_types(a.data(), qname, types);
  std::erase_if(types, [&](RRType t) { return t == qtype || t == RRType::kCNAME; });
  a.nsec_at(zone, s, qname, std::move(types));
}

// NXDOMAIN: no `qname` (the NSEC covering the next closer name) and no
// wildcard at its closest encloser `ce`. NSEC3 also proves that `ce` exists
// (RFC 5155 §7.2.2: the closest encloser proof).
void nxdomain_proof(AnswerWriter& a, const Zone& zone, const ZoneSigner* s, const Name& qname,
                    const Name& ce) {
  const DenialChain* c = s->nsec3() ? a.chain(zone, ce) : nullptr;
  if (auto e = c ? c->nsec3_encloser(ce) : std::nullopt) {
    // From the chain: only the next closer name is hashed.
    a.chain_nsec(*c, *e->matching);
    a.cover(zone, s, AnswerWriter::next_closer(qname, ce));
    if (e->wildcard_cover) a.chain_nsec(*c, *e->wildcard_cover);
    return;
  }
  if (s->nsec3()) {
    auto types = node_types(zone, zone.find(ce), ce, s);
    add_handler_types(a.data(), ce, types);
    a.nsec_at(zone, s, ce, std::move(types));
  }
  a.cover(zone, s, AnswerWriter::next_closer(qname, ce));
  if (auto wildcard = ce.prepend("*")) a.cover(zone, s, *wildcard);
}

// NODATA for `qname`, which the wildcard at `lk.node_name` answers with
// other types (RFC 4035 §3.1.3.4; with NSEC3 RFC 5155 §7.2.5, which also
// proves the closest encloser, the wildcard's parent).
void wildcard_nodata_proof(AnswerWriter& a, const Zone& zone, const ZoneSigner* s, const Name& qname,
                           const Zone::Lookup& lk) {
  const Name ce = lk.node_name.parent();
  if (s->nsec3()) a.nsec_at(zone, s, ce, node_types(zone, zone.find(ce), ce, s));
  a.nsec_at(zone, s, lk.node_name, node_types(zone, lk.node, lk.node_name, s));
  a.cover(zone, s, AnswerWriter::next_closer(qname, ce));
}

// Follows a CNAME chain from `target` through our zones, appending to the
// answer. Returns the rcode of the last name (RFC 6604).
Rcode follow_cname(AnswerWriter& a, Name target, RRType qtype) {
  const ServerData& data = a.data();
  for (std::size_t hop = 0; hop < kMaxCnameChain; ++hop) {
    const Zone* zone = data.zones.find(target);
    if (!zone) return Rcode::kNoError;  // not ours: the resolver continues
    const ZoneSigner* s = a.signer(*zone);
    auto lk = zone->lookup(target, qtype);
    if (lk.match == Zone::Match::kDelegation) return Rcode::kNoError;
    if (lk.match == Zone::Match::kNxdomain) {
      a.negative_soa(*zone);
      if (s) nxdomain_proof(a, *zone, s, target, lk.closest_encloser);
      return Rcode::kNXDomain;
    }
    if (const RRset* rr = lk.node->find(qtype)) {
      a.answer(*zone, lk, target, *rr);
      a.defer_additional(*zone, *lk.node, rr);
      return Rcode::kNoError;
    }
    const RRset* cname = lk.node->find(RRType::kCNAME);
    if (!cname) {
      a.negative_soa(*zone);  // NODATA at the end of the chain
      if (s && lk.match == Zone::Match::kWildcard) {
        wildcard_nodata_proof(a, *zone, s, target, lk);
      } else if (s) {
        nodata_proof(a, *zone, s, target, qtype, lk.node);
      }
      return Rcode::kNoError;
    }
    if (!a.answer(*zone, lk, target, *cname)) return Rcode::kNoError;
    auto next = cname_target(*cname);
    if (!next) return Rcode::kServFail;
    target = *next;
  }
  return Rcode::kNoError;  // chain too long: stop, as Knot does
}

// Which handlers answered `p`, for messages about their records.
std::string handler_source(const QueryState& p) {
  std::string patterns;
  for (const auto* h : p.handlers) {
    if (p.data && h == p.data->fallback.get()) return "the fallback handler";
    patterns += patterns.empty() ? "" : ", ";
    patterns += h->glob.pattern();
  }
  return "the handlers of " + patterns;
}

}  // namespace

bool Responder::all_sync(const QueryState& state) noexcept {
  for (const auto* h : state.handlers) {
    if (!h->sync) return false;
  }
  return true;
}

Responder::Status Responder::respond(std::span<const std::uint8_t> bytes,
                                     const std::shared_ptr<const ServerData>& data_ptr, QueryState& c,
                                     std::span<std::uint8_t> out, std::size_t& out_size) const {
  const Transport transport = c.query.transport;
  c.has_question = false;
  c.edns = false;
  c.query.dnssec_ok = false;
  c.rcode = Rcode::kNoError;
  c.truncated = false;
  c.from_handlers = false;
  c.valid_server_cookie = false;
  c.cookie_check = CookieCheck::kNone;
  c.cookie_size = 0;
  c.answer_ttl.reset();
  c.authority_ttl.reset();
  if (bytes.size() < Header::kSize) {
    c.parse_error = WireError::kTruncated;
    return Status::kDropped;
  }
  MessageView view;
  WireError err = view.parse(bytes);
  c.parse_error = err;
  const Header& qh = view.header();
  if (err == WireError::kOk && qh.qdcount > 0) {
    // The one copy of the question: answers, handlers and observers use it.
    auto q = view.question();
    c.query.question.name = q.name.to_name();
    c.query.question.type = q.type;
    c.query.question.rclass = q.rclass;
    c.has_question = true;
  }
  if (qh.qr) return Status::kDropped;  // never answer a response

  c.id = qh.id;
  c.opcode = qh.opcode;
  c.rd = qh.rd;
  c.cd = qh.opcode == Opcode::kQuery && qh.cd;  // CD is QUERY's; other opcodes echo only RD, as Knot does
  // Manual mode follows the UDP size rules: its callers own a UDP socket.
  const bool datagram = transport == Transport::kUdp || transport == Transport::kManual;
  c.limit = datagram ? 512 : 65535;
  const auto max_payload = options_.max_udp_payload;

  if (err != WireError::kOk) {
    out_size = error_response(out, c, Rcode::kFormErr, false, max_payload);
    return Status::kAnswered;
  }
  if (view.has_edns()) {
    auto e = view.edns();
    c.edns = true;
    c.query.dnssec_ok = e.dnssec_ok;
    if (datagram) {
      c.limit = std::clamp<std::size_t>(e.udp_payload_size, 512, max_payload);
    }
    bool bad_cookie = false;
    auto cookie = e.cookie(&bad_cookie);
    if (bad_cookie) {
      out_size = error_response(out, c, Rcode::kFormErr, false, max_payload);
      return Status::kAnswered;
    }
    if (cookie) take_cookie(options_.cookies.get(), *cookie, c);
    if (e.version != 0) {
      out_size = error_response(out, c, Rcode::kBadVers, false, max_payload);
      return Status::kAnswered;
    }
  }
  // Cookies required (BIND's require-server-cookie): a UDP query with a
  // cookie but without a valid server cookie gets BADCOOKIE and a fresh
  // cookie to retry with (RFC 7873 §5.2.3, §5.2.4); TCP is never asked.
  if (c.cookie_size && datagram && options_.cookies->require() && !c.valid_server_cookie) {
    out_size = error_response(out, c, Rcode::kBadCookie, c.has_question, max_payload);
    return Status::kAnswered;
  }
  if (qh.qdcount != 1) {
    out_size = error_response(out, c, qh.opcode == Opcode::kQuery ? Rcode::kFormErr : Rcode::kNotImp, false,
                              max_payload);
    return Status::kAnswered;
  }
  const Name& qname = c.query.question.name;
  const RRType qtype = c.query.question.type;
  const RRClass qclass = c.query.question.rclass;
  if (qh.opcode != Opcode::kQuery) {
    out_size = error_response(out, c, Rcode::kNotImp, true, max_payload);
    return Status::kAnswered;
  }
  switch (qtype) {
    case RRType::kOPT:
    case RRType::kTSIG:
    case RRType::kTKEY:
      out_size = error_response(out, c, Rcode::kFormErr, true, max_payload);
      return Status::kAnswered;
    case RRType::kAXFR:
    case RRType::kIXFR:
      if (transport == Transport::kTcp) return Status::kTransfer;  // the TCP listener serves it
      out_size = error_response(out, c, Rcode::kNotImp, true, max_payload);
      return Status::kAnswered;
    default:
      break;
  }
  if (qclass != RRClass::kIN && qclass != RRClass::kANY) {
    out_size = error_response(out, c, Rcode::kRefused, true, max_payload);
    return Status::kAnswered;
  }

  MessageWriter w(out, c.limit);
  begin(w, c, max_payload, true);

  // RFC 6761 §6.3: localhost. and names below it are loopback.
  if (options_.localhost && qname.is_subdomain_of(localhost_name())) {
    static const Bytes v4{127, 0, 0, 1};
    static const Bytes v6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (qtype == RRType::kA || qtype == RRType::kANY) {
      add_record(w, c, Section::kAnswer, qname, RRType::kA, 0, v4);
    }
    if (qtype == RRType::kAAAA || qtype == RRType::kANY) {
      add_record(w, c, Section::kAnswer, qname, RRType::kAAAA, 0, v6);
    }
    out_size = finish(w, Rcode::kNoError, true, c);
    return Status::kAnswered;
  }

  const ServerData& data = *data_ptr;
  const Zone* zone = data.zones.find(qname);
  auto ask_handlers = [&](const Zone* z) {
    c.query.client.clear();
    c.name_exists = true;
    c.data = data_ptr;
    c.zone = z;
    c.node = nullptr;
    return Status::kNeedsHandlers;
  };
  if (!zone) {
    if (data.fallback) {
      // Offered to the fallback handler; REFUSED if it has nothing (complete()).
      c.handlers.assign(1, data.fallback.get());
      return ask_handlers(nullptr);
    }
    out_size = finish(w, Rcode::kRefused, false, c);
    return Status::kAnswered;
  }

  AnswerWriter a(w, data, c);
  const ZoneSigner* zone_signer = data.signer(*zone);  // DNSKEY & co. are served with or without DO
  const ZoneSigner* s = a.signer(*zone);
  auto lk = zone->lookup(qname, qtype);
  bool name_exists = false;
  switch (lk.match) {
    case Zone::Match::kDelegation: {
      const RRset* ns = lk.node->find(RRType::kNS);
      a.rrset(Section::kAuthority, lk.node_name, RRType::kNS, ns->ttl, ns->rdatas);  // NS at a cut: unsigned
      if (s) {
        // The parent side's word on the child's keys: its DS, or proof there is none.
        if (const RRset* ds = lk.node->find(RRType::kDS)) {
          a.rrset(Section::kAuthority, lk.node_name, RRType::kDS, ds->ttl, ds->rdatas, s);
        } else {
          a.nsec_at(*zone, s, lk.node_name, node_types(*zone, lk.node, lk.node_name, nullptr));
        }
      }
      a.defer_additional(*zone, *lk.node, ns);
      a.flush();
      out_size = finish(w, Rcode::kNoError, false, c);  // a referral is not authoritative
      return Status::kAnswered;
    }
    case Zone::Match::kExact:
    case Zone::Match::kWildcard: {
      const ZoneNode& node = *lk.node;
      const bool wildcard = lk.match == Zone::Match::kWildcard;
      const Name* sign_owner = wildcard ? &lk.node_name : nullptr;
      const bool apex = !wildcard && qname == zone->apex();
      name_exists = true;
      if (apex && zone_signer && is_apex_signer_type(qtype, *zone_signer)) {
        const RRset& keys = qtype == RRType::kDNSKEY       ? zone_signer->dnskey()
                            : qtype == RRType::kCDS        ? zone_signer->cds()
                            : qtype == RRType::kNSEC3PARAM ? zone_signer->nsec3param()
                                                           : zone_signer->cdnskey();
        a.rrset(Section::kAnswer, qname, keys.type, keys.ttl, keys.rdatas, s);
        out_size = finish(w, Rcode::kNoError, true, c);
        return Status::kAnswered;
      }
      if (qtype == RRType::kANY && !node.rrsets.empty()) {
        if (datagram) {
          // RFC 8482 §4.2: one synthesized HINFO instead of everything.
          a.rrset(Section::kAnswer, qname, RRType::kHINFO, 3600, rfc8482_hinfo(), s);
        } else {
          for (const auto& rr : node.rrsets) {
            a.rrset(Section::kAnswer, qname, rr.type, rr.ttl, rr.rdatas, s, sign_owner);
          }
          if (apex && zone_signer) {
            for (const RRset* keys : {&zone_signer->dnskey(), &zone_signer->cds(), &zone_signer->cdnskey(),
                                      &zone_signer->nsec3param()}) {
              if (!keys->rdatas.empty())
                a.rrset(Section::kAnswer, qname, keys->type, keys->ttl, keys->rdatas, s);
            }
          }
          if (s && wildcard) a.defer_cover(*zone, s, AnswerWriter::next_closer(qname, lk.node_name.parent()));
          a.flush();
        }
        out_size = finish(w, Rcode::kNoError, true, c);
        return Status::kAnswered;
      }
      if (const RRset* rr = node.find(qtype)) {
        a.answer(*zone, lk, qname, *rr);
        a.defer_additional(*zone, node, rr);
        a.flush();
        out_size = finish(w, Rcode::kNoError, true, c);
        return Status::kAnswered;
      }
      if (const RRset* cname = node.find(RRType::kCNAME)) {
        Rcode rcode = Rcode::kNoError;
        if (a.answer(*zone, lk, qname, *cname)) {
          if (auto target = cname_target(*cname)) rcode = follow_cname(a, *target, qtype);
        }
        a.flush();
        out_size = finish(w, rcode, true, c);
        return Status::kAnswered;
      }
      break;
    }
    case Zone::Match::kNxdomain:
      break;
  }

  // Zone data has no answer: the handlers are next.
  std::array<char, 256> subject_buf;
  auto subject = match_subject(qname, subject_buf);
  c.handlers.clear();
  bool pattern_matched = data.handlers.match(subject, qtype, c.handlers);
  // A name above a pattern's literal part ("dyn" for "*.dyn.example.test") has names below it.
  if (!pattern_matched && !name_exists) name_exists = data.handlers.has_names_at_or_below(qname);
  if (c.handlers.empty() && data.fallback) c.handlers.push_back(data.fallback.get());
  if (!c.handlers.empty() && qtype == RRType::kANY && datagram) {
    // RFC 8482 over UDP for names handlers answer too, as for zone data: the
    // HINFO, without asking them (over TCP they are asked for everything).
    a.rrset(Section::kAnswer, qname, RRType::kHINFO, 3600, rfc8482_hinfo(), s);
    out_size = finish(w, Rcode::kNoError, true, c);
    return Status::kAnswered;
  }
  if (!c.handlers.empty()) {
    auto status = ask_handlers(zone);
    c.node = lk.match == Zone::Match::kExact ? lk.node : nullptr;
    return status;
  }
  a.negative_soa(*zone);
  // The chain's name just after a region (white_lie_successor of its root) has an NSEC: it exists.
  const DenialChain* chain = data.denial(*zone);
  const bool nodata =
      name_exists || pattern_matched || (chain && chain->answers(qname) && chain->nsec_at(qname));
  if (s) {
    if (lk.match == Zone::Match::kWildcard && !pattern_matched) {
      // The wildcard has no such type, and the name itself does not exist.
      wildcard_nodata_proof(a, *zone, s, qname, lk);
    } else if (nodata) {
      nodata_proof(a, *zone, s, qname, qtype, lk.match == Zone::Match::kExact ? lk.node : nullptr);
    } else {
      nxdomain_proof(a, *zone, s, qname, existing_encloser(data, *zone, qname, lk.closest_encloser));
    }
  }
  out_size = finish(w, nodata ? Rcode::kNoError : Rcode::kNXDomain, true, c);
  return Status::kAnswered;
}

std::size_t Responder::complete(QueryState& c, std::vector<Record>&& records, bool failed,
                                std::span<std::uint8_t> out) const {
  const Name& qname = c.query.question.name;
  const RRType qtype = c.query.question.type;
  c.from_handlers = true;
  c.answer_ttl.reset();
  c.authority_ttl.reset();
  MessageWriter w(out, c.limit);
  begin(w, c, options_.max_udp_payload, true);
  if (failed) return finish(w, Rcode::kServFail, false, c);

  const ZoneSigner* s = c.zone && c.query.dnssec_ok ? c.data->signer(*c.zone) : nullptr;
  AnswerWriter a(w, *c.data, c);
  std::size_t added = 0;
  // Only what answers the question: records of the asked type (any type
  // for ANY) and CNAMEs; invalid RDATA from user code is left out.
  std::erase_if(records, [&](const Record& r) {
    if (qtype != RRType::kANY && r.type != qtype && r.type != RRType::kCNAME) return true;
    if (is_valid_rdata(r.type, r.rdata)) return false;
    if (options_.invalid_record) {
      options_.invalid_record(handler_source(c), r.owner, r.type, "its RDATA does not fit the type");
    } else {
      spdlog::warn("handler answer for {} dropped: invalid {} RDATA", qname.to_string(), to_string(r.type));
    }
    return true;
  });
  if (!s) {
    for (auto& r : records) {
      const Name& owner = r.owner == qname ? qname : r.owner;  // echo the question's case
      if (!add_record(w, c, Section::kAnswer, owner, r.type, r.ttl, r.rdata)) break;
      ++added;
    }
  } else {
    // Signed: one RRset per owner and type (in first-seen order), with the
    // lowest TTL of its records (RFC 2181 §5.2), then its RRSIGs.
    std::vector<bool> done(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (done[i]) continue;
      std::vector<Bytes> rdatas;
      std::uint32_t ttl = records[i].ttl;
      for (std::size_t j = i; j < records.size(); ++j) {
        if (done[j] || records[j].type != records[i].type || !(records[j].owner == records[i].owner))
          continue;
        done[j] = true;
        ttl = std::min(ttl, records[j].ttl);
        rdatas.push_back(std::move(records[j].rdata));
      }
      const Name& owner = records[i].owner == qname ? qname : records[i].owner;
      // Records outside the zone cannot carry its signature.
      const ZoneSigner* rs = owner.is_subdomain_of(c.zone->apex()) ? s : nullptr;
      if (!a.rrset(Section::kAnswer, owner, records[i].type, ttl, rdatas, rs)) break;
      added += rdatas.size();
    }
  }
  if (!c.zone) {
    // Outside our zones (only the fallback handler is asked there): its
    // answer is passed on, not authoritative; nothing at all is REFUSED.
    return finish(w, added == 0 ? Rcode::kRefused : Rcode::kNoError, false, c);
  }
  if (added == 0) {
    a.negative_soa(*c.zone);  // NODATA: a pattern matched
    if (s) nodata_proof(a, *c.zone, s, qname, qtype, c.node);
  }
  return finish(w, Rcode::kNoError, true, c);
}

std::size_t Responder::run_sync_handlers(QueryState& state, std::span<std::uint8_t> out) const {
  std::vector<Record> records;
  bool failed = false;
  for (const auto* h : state.handlers) {
    try {
      auto part = h->sync(state.query);
      records.insert(records.end(), std::make_move_iterator(part.begin()),
                     std::make_move_iterator(part.end()));
    } catch (const std::exception& e) {
      spdlog::warn("handler {} failed for {} (from {}): {}", h->glob.pattern(),
                   state.query.question.name.to_string(),
                   state.query.client.empty() ? std::string_view("manual") : state.query.client, e.what());
      failed = true;
      break;
    } catch (...) {
      failed = true;
      break;
    }
  }
  return complete(state, std::move(records), failed, out);
}

}  // namespace basalt::dns
