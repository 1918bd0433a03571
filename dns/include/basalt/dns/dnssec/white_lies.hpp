// Names for NSEC "white lies" (RFC 4470): minimally covering NSEC records
// made per query, so authenticated denial needs no precomputed chain and
// works for names that handlers answer.
//
// For a name that does not exist, the NSEC `predecessor(n) NSEC successor(n)`
// covers `n` and its whole subtree and nothing else that could exist: the
// predecessor is `n`'s first label decremented by one octet with `\255`
// appended, the successor the label with `\000` appended (both siblings of
// `n`, so validators derive the right closest encloser). For a name that
// exists, `n NSEC \000.n` covers no name at all. Names are lowercased (the
// canonical order of RFC 4034 §6.1 is case-insensitive). Pure functions.
#pragma once

#include <optional>
#include <vector>

#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/wire/rdata.hpp"

namespace basalt::dns {

// A name just before `name` in canonical order, below the same parent;
// nullopt for a first label of one `\000` octet (nothing fits before it).
std::optional<Name> white_lie_predecessor(const Name& name);
// A name just after `name` and its subtree, below the same parent.
Name white_lie_successor(const Name& name);
// `\000.name`: the next name of an NSEC at an existing `name`.
Name white_lie_child(const Name& name);

// NSEC RDATA: `next` and the type bitmap (sorted and made unique here).
Bytes nsec_rdata(const Name& next, std::vector<RRType> types);

}  // namespace basalt::dns
