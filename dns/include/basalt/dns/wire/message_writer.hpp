// Builds a DNS message into a caller-provided buffer, with name compression
// and a size limit.
//
// Use it to write responses on the hot path: nothing is allocated, the
// buffer is written in place. Records are appended section by section
// (question, answer, authority, additional). When a record does not fit in
// the limit, the writer removes the partial record, and for the answer and
// authority sections sets TC and refuses everything after (RFC 2181 §9); a
// record that does not fit in the additional section is just left out. The
// OPT record, if set, is reserved up front so it is always present, even in a
// truncated answer (RFC 6891 §7). Owner names are compressed against earlier
// names case-insensitively, so an owner equal to the question points at the
// question and echoes its exact case (DNS 0x20); names inside RDATA are
// compressed only against byte-identical names, so their case is kept
// exactly. A writer is single-threaded; the buffer must outlive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "basalt/dns/wire/edns.hpp"
#include "basalt/dns/wire/header.hpp"
#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"

namespace basalt::dns {

class MessageWriter {
 public:
  // Writes into `buffer`; the message will not exceed `limit` octets (capped
  // at the buffer size and 65535).
  explicit MessageWriter(std::span<std::uint8_t> buffer, std::size_t limit = 65535) noexcept;

  // Header fields; counts are filled in by finish(). The 12-bit RCODE goes in
  // `set_rcode` so the upper bits can reach the OPT record.
  Header& header() noexcept { return header_; }
  void set_rcode(std::uint16_t rcode) noexcept;

  // Appends a question. Must come before any record. False if it does not fit.
  bool add_question(const Name& name, RRType type, RRClass rclass) noexcept;

  // Reserves space for an OPT record with these fields and options (copied
  // now, so the option data need not outlive the call). Call at most once,
  // before adding records. False (and no OPT) if it does not fit.
  bool set_edns(std::uint16_t udp_payload_size, std::uint8_t version, bool dnssec_ok,
                std::span<const EdnsOptionRef> options = {}, std::uint16_t z = 0) noexcept;
  bool set_edns(const Edns& edns) noexcept;

  // Appends a record whose RDATA is given uncompressed (as stored in zones
  // and produced by read_rdata). Names inside NS/CNAME/SOA/PTR/MX RDATA are
  // compressed. Records must be added in section order. Returns false if the
  // record did not fit (see above) or is out of order.
  bool add_record(Section section, const Name& owner, RRType type, RRClass rclass, std::uint32_t ttl,
                  ByteSpan rdata) noexcept;

  // A point to roll back to, e.g. to drop a whole RRset that did not fit.
  struct Checkpoint {
    std::size_t size;
    std::size_t compression_entries;
    std::array<std::uint16_t, 4> counts;
  };
  Checkpoint checkpoint() const noexcept;
  void rollback(const Checkpoint& cp) noexcept;

  // Marks the message truncated (TC) and refuses further records.
  void set_truncated() noexcept;
  bool truncated() const noexcept { return header_.tc; }

  // Current size, without the reserved OPT record.
  std::size_t size() const noexcept { return size_; }

  // Writes the header and the OPT record; returns the message size. The
  // message is buffer[0, returned size). Call once.
  std::size_t finish() noexcept;

 private:
  static constexpr std::size_t kMaxCompression = 128;
  struct Entry {
    std::uint16_t offset;  // where a name suffix starts in the buffer
    std::uint8_t length;   // that suffix's uncompressed length
  };

  // `exact`: match earlier names case-sensitively (used for RDATA names).
  bool write_name(ByteSpan wire, bool compress, bool exact) noexcept;  // wire: a valid uncompressed name
  std::size_t find_suffix(const std::uint8_t* wire, std::size_t wire_size, bool exact) const noexcept;
  bool suffix_equals(std::size_t offset, const std::uint8_t* wire, bool exact) const noexcept;
  bool room(std::size_t n) const noexcept { return limit_ - size_ >= n; }
  bool overflow(Section section, const Checkpoint& cp) noexcept;

  std::span<std::uint8_t> buf_;
  std::size_t limit_;
  std::size_t size_ = Header::kSize;
  Header header_;
  std::uint16_t rcode_ = 0;
  std::array<std::uint16_t, 4> counts_{};  // qd, an, ns, ar
  int section_ = -1;                       // last section written, -1 = questions
  bool refuse_ = false;
  std::size_t opt_size_ = 0;  // reserved at buf_[limit_, limit_ + opt_size_)
  std::array<Entry, kMaxCompression> entries_;
  std::size_t entry_count_ = 0;
};

}  // namespace basalt::dns
