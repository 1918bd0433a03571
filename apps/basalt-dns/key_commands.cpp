// `basalt-dns keygen` and `basalt-dns ds`: make a DNSSEC key in a key
// directory and print its DNSKEY; print the DS of a zone's key-signing keys.
#include <fmt/format.h>

#include <ctime>
#include <iostream>

#include "basalt/core/config.hpp"
#include "basalt/core/encoding.hpp"
#include "basalt/dns/dnssec/key_store.hpp"
#include "basalt/dns/wire/rdata.hpp"
#include "commands.hpp"

namespace basalt::apps {
namespace {

dns::Name zone_name(const std::string& text) {
  std::string_view why;
  auto zone = dns::Name::from_text(text, nullptr, &why);
  if (!zone || zone->is_root()) {
    throw core::config::Error(
        "--zone", "\"" + text + "\" is not a zone name" + (zone ? std::string() : ": " + std::string(why)));
  }
  return zone->lowercased();
}

int keygen(const KeyFlags& f) {
  auto zone = zone_name(f.zone);
  auto algorithm = dns::parse_algorithm(f.algorithm);
  if (!algorithm) {
    throw core::config::Error("--algorithm",
                              "\"" + f.algorithm + "\" is not one of: " + std::string(dns::kAlgorithmHelp));
  }
  if (f.role != "csk" && f.role != "ksk" && f.role != "zsk") {
    throw core::config::Error("--role", "\"" + f.role + "\" is not one of: csk, ksk, zsk");
  }
  auto flags = f.role == "zsk" ? dns::SigningKey::kZskFlags : dns::SigningKey::kKskFlags;
  auto key = dns::SigningKey::generate(*algorithm, flags, static_cast<std::int64_t>(std::time(nullptr)));
  auto path = dns::write_key(f.key_dir, zone, key);
  std::cerr << "wrote " << path.string() << " and its .private (key tag " << key.key_tag() << ")\n";
  std::cout << zone.to_string() << " IN DNSKEY "
            << dns::rdata_to_text(dns::RRType::kDNSKEY, key.dnskey_rdata()) << "\n";
  return 0;
}

int ds(const KeyFlags& f) {
  auto zone = zone_name(f.zone);
  auto keys = dns::load_keys(f.key_dir, zone);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  int printed = 0;
  for (const auto& k : keys) {
    if (!k.is_ksk() || !k.published(now)) continue;
    std::cout << zone.to_string() << " IN DS "
              << dns::rdata_to_text(dns::RRType::kDS, dns::ds_rdata(zone, k.dnskey_rdata())) << "\n";
    ++printed;
  }
  if (printed == 0) {
    std::cerr << "no published key-signing key for " << zone.to_string() << " in " << f.key_dir << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void add_key_commands(CLI::App& app, KeyFlags& flags, std::function<int()>& action) {
  auto* gen = app.add_subcommand("keygen", "create a DNSSEC key (BIND format) and print its DNSKEY");
  gen->add_option("--zone", flags.zone, "the zone the key signs")->required();
  gen->add_option("--algorithm", flags.algorithm, "ecdsa-p256 (default), ed25519 or rsa-sha256");
  gen->add_option("--key-dir", flags.key_dir, "where the key files are written")->required();
  gen->add_option("--role", flags.role, "csk (combined, flags 257; default), ksk (257) or zsk (256)");
  gen->callback([&flags, &action] { action = [&flags] { return keygen(flags); }; });

  auto* dsc = app.add_subcommand("ds", "print the DS (SHA-256) of the zone's key-signing keys");
  dsc->add_option("--zone", flags.zone, "the zone")->required();
  dsc->add_option("--key-dir", flags.key_dir, "the key directory")->required();
  dsc->callback([&flags, &action] { action = [&flags] { return ds(flags); }; });
}

}  // namespace basalt::apps
