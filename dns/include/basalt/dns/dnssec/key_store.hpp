// The key directory of a signed zone: loads the zone's keys in BIND's format
// and, on first start, generates them there, so the DS at the parent stays
// valid across restarts.
//
// Files: `K<zone>.+<alg>+<tag>.key` and `.private` (signing_key.hpp), mode
// 0600, in a directory created 0700. Every key of the zone in the directory is
// loaded (other zones' keys are ignored); keys of another algorithm than the
// one asked for are an error rather than a silent algorithm change, because
// it would break the chain of trust.
//
// Crash safety: a key's two files are written in full under temporary names
// (`.K...key.tmp.XXXXXX`), then the .private is renamed into place, then the
// .key. load_or_create_keys() first tidies the directory: it removes the
// zone's temporary files, and a .private without its .key when the .key's
// temporary file is beside it (a write of ours, killed between the renames:
// the key was never used). A .private without its .key and without that
// temporary file was not written by basalt (or its .key was removed): it is
// never deleted, and loading stops with an error naming it. Writers and the
// tidying hold an flock(2) on the directory, so a start never tidies away a
// `keygen` that is still writing.
//
// Functions here are control-plane: they throw std::runtime_error with the
// file and the reason.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "basalt/dns/dnssec/signing_key.hpp"

namespace basalt::dns {

enum class KeyLayout {
  kCombined,  // one combined signing key (flags 257) signs everything
  kKskZsk,    // a key-signing key for the DNSKEY RRset, a zone-signing key for the rest
};

// Every key of `zone` in `dir` (none if the directory does not exist).
std::vector<SigningKey> load_keys(const std::filesystem::path& dir, const Name& zone);

// Writes `key`'s two files into `dir` (created if missing) as described
// above; returns the path of the .key file. Never replaces an existing file
// (another key with the same tag): that is an error.
std::filesystem::path write_key(const std::filesystem::path& dir, const Name& zone, const SigningKey& key);

struct KeySetOptions {
  std::filesystem::path dir;
  Name zone;
  std::optional<Algorithm> algorithm;  // absent: the existing keys', else kDefaultAlgorithm
  KeyLayout layout = KeyLayout::kCombined;
};

// The zone's keys: those in the directory (after tidying up an interrupted
// write, see above), or, when there are none, new ones (per `layout`) written
// there first. Throws if the directory holds keys of the zone of another
// algorithm than `algorithm`, a .private of the zone without its .key, or
// cannot be written.
std::vector<SigningKey> load_or_create_keys(const KeySetOptions& options, std::int64_t now);

}  // namespace basalt::dns
