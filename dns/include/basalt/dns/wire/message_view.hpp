// Zero-copy parsing of a received DNS message.
//
// MessageView::parse validates the whole message once (header, every name
// with its compression pointers, every record's bounds and, for known types,
// its RDATA layout; at most one OPT, in the additional section with the root
// owner; TSIG last) and then hands out views into the caller's buffer:
// questions, records and the EDNS fields. Nothing is copied or allocated, so
// this is the query hot path. The buffer must outlive the view and the views
// it returns. A view is immutable after parse and safe to read from several
// threads. Failure is reported as a WireError, never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "basalt/dns/wire/edns.hpp"
#include "basalt/dns/wire/header.hpp"
#include "basalt/dns/wire/name_view.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "basalt/dns/wire/rr_type.hpp"
#include "basalt/dns/wire/wire_error.hpp"

namespace basalt::dns {

enum class Section : std::uint8_t { kAnswer = 0, kAuthority = 1, kAdditional = 2 };

struct QuestionView {
  NameView name;
  RRType type{};
  RRClass rclass{};
};

struct RecordView {
  NameView owner;
  RRType type{};
  RRClass rclass{};  // for OPT: the UDP payload size
  std::uint32_t ttl = 0;
  // Raw RDATA as received: for NS/CNAME/SOA/PTR/MX (and leniently SRV,
  // DNAME, NAPTR) it may contain compression pointers into the message; use
  // uncompressed_rdata() for the standalone form.
  ByteSpan rdata;
  std::size_t rdata_offset = 0;
  ByteSpan message;

  // Appends the uncompressed RDATA to `out`. Cannot fail for a validated message.
  void uncompressed_rdata(Bytes& out) const { read_rdata(type, message, rdata_offset, rdata.size(), &out); }
};

// EDNS fields read in place from the OPT record.
struct OptView {
  std::uint16_t udp_payload_size = 0;
  std::uint8_t extended_rcode = 0;
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::uint16_t z = 0;
  ByteSpan options;  // RFC 6891 option list; iterate with for_each_edns_option

  // The first option with `code`, if present.
  std::optional<ByteSpan> find(EdnsOptionCode code) const noexcept;
  // The cookie option: nullopt if absent; `*malformed` set if present but of
  // an invalid length (RFC 7873 §5.2.2 asks for FORMERR then).
  std::optional<Cookie> cookie(bool* malformed = nullptr) const noexcept;
  Edns to_edns() const;
};

// Iterates the records of one section.
class RecordIterator {
 public:
  RecordIterator() = default;
  RecordIterator(ByteSpan message, std::size_t pos, std::size_t count) noexcept
      : msg_(message), pos_(pos), remaining_(count) {
    if (remaining_) load();
  }
  const RecordView& operator*() const noexcept { return current_; }
  const RecordView* operator->() const noexcept { return &current_; }
  RecordIterator& operator++() noexcept {
    pos_ = current_.rdata_offset + current_.rdata.size();
    if (--remaining_) load();
    return *this;
  }
  friend bool operator==(const RecordIterator& a, const RecordIterator& b) noexcept {
    return a.remaining_ == b.remaining_;
  }

 private:
  void load() noexcept;
  ByteSpan msg_;
  std::size_t pos_ = 0;
  std::size_t remaining_ = 0;
  RecordView current_;
};

struct RecordRange {
  RecordIterator first;
  RecordIterator begin() const noexcept { return first; }
  RecordIterator end() const noexcept { return {}; }
};

class MessageView {
 public:
  // Validates `message` and indexes its sections. On failure the view is
  // left empty and the error says why; header() is still filled if at least
  // 12 octets were given (so a FORMERR answer can echo the ID).
  WireError parse(ByteSpan message) noexcept;

  const Header& header() const noexcept { return header_; }
  ByteSpan bytes() const noexcept { return msg_; }

  // The first question (what almost every query has). Precondition: qdcount > 0.
  QuestionView question() const noexcept { return question_at(Header::kSize); }
  // All questions, in order.
  template <typename Fn>
  void for_each_question(Fn&& fn) const {
    std::size_t pos = Header::kSize;
    for (unsigned i = 0; i < header_.qdcount; ++i) {
      QuestionView q = question_at(pos);
      pos = skip_name(pos) + 4;
      fn(q);
    }
  }

  RecordRange answers() const noexcept { return {RecordIterator(msg_, an_, header_.ancount)}; }
  RecordRange authority() const noexcept { return {RecordIterator(msg_, ns_, header_.nscount)}; }
  // Includes the OPT and TSIG records, if any.
  RecordRange additional() const noexcept { return {RecordIterator(msg_, ar_, header_.arcount)}; }
  RecordRange section(Section s) const noexcept;

  bool has_edns() const noexcept { return opt_offset_ != 0; }
  // Precondition: has_edns().
  OptView edns() const noexcept;
  // The full 12-bit RCODE (header bits plus EDNS extended bits).
  std::uint16_t rcode() const noexcept;
  // True if the last additional record is a TSIG.
  bool has_tsig() const noexcept { return has_tsig_; }

 private:
  QuestionView question_at(std::size_t pos) const noexcept;
  std::size_t skip_name(std::size_t pos) const noexcept;

  ByteSpan msg_;
  Header header_;
  std::size_t an_ = 0, ns_ = 0, ar_ = 0;
  std::size_t opt_offset_ = 0;  // offset of the OPT record's TYPE field; 0 if none
  bool has_tsig_ = false;
};

}  // namespace basalt::dns
