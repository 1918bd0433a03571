// `basalt-dns cert`: the retrieveCertificate management command from the
// command line. The daemon does the work (it serves the challenge records);
// this only asks, shows the progress and reports the outcome.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "basalt/core/config.hpp"
#include "basalt/core/duration.hpp"
#include "basalt/core/management/client.hpp"
#include "commands.hpp"

namespace basalt::apps {
namespace {

// A CA file named relative to our directory means nothing to the daemon.
std::string absolute_unless_pem(const std::string& text) {
  if (text.empty() || text.find("-----BEGIN") != std::string::npos) return text;
  std::error_code ec;
  auto p = std::filesystem::absolute(text, ec);
  return ec ? text : p.string();
}

int cert(const CertFlags& f) {
  if (f.management_socket.empty()) {
    throw core::config::Error(
        "--management-socket",
        "needed: the path the daemon listens on (basalt-dns serve --management-socket PATH)");
  }
  auto timeout = core::parse_duration(f.timeout);
  if (!timeout || timeout->count() <= 0) {
    throw core::config::Error("--timeout",
                              "\"" + f.timeout + "\" is not " + std::string(core::kDurationHelp));
  }
  boost::json::object params;
  boost::json::array domains;
  for (const auto& d : f.domains) domains.emplace_back(d);
  params["domains"] = std::move(domains);
  if (!f.email.empty()) params["email"] = f.email;
  if (!f.directory.empty()) params["directory"] = f.directory;
  if (!f.directory_ca.empty()) params["directoryCa"] = absolute_unless_pem(f.directory_ca);
  if (!f.key_type.empty()) params["keyType"] = f.key_type;

  core::management::Client client(f.management_socket);
  auto result = client.call(
      "retrieveCertificate", params,
      [](const boost::json::value& chunk) {
        const auto* o = chunk.if_object();
        if (!o) return;
        auto text = [&](std::string_view key) {
          const auto* v = o->if_contains(key);
          return v && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        std::cerr << text("step") << ": " << text("message") << "\n";
      },
      *timeout);
  const auto& r = result.as_object();
  std::string names;
  for (const auto& d : r.at("domains").as_array()) {
    if (!names.empty()) names += ", ";
    names += d.as_string();
  }
  std::cout << (r.at("issued").as_bool() ? "issued" : "already held") << ": " << names << ", valid until "
            << r.at("notAfter").as_string().c_str() << "\n"
            << "certificate: " << r.at("certificatePath").as_string().c_str() << "\n"
            << "key: " << r.at("keyPath").as_string().c_str() << "\n";
  return 0;
}

}  // namespace

void add_cert_command(CLI::App& app, CertFlags& flags, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("cert", "have the running daemon obtain an ACME certificate (dns-01)");
  cmd->add_option("--domain", flags.domains,
                  "a name to certify; \"*.example.com\" for a wildcard (repeatable)")
      ->required();
  cmd->add_option("--email", flags.email, "the ACME account's contact (default: the daemon's acme.email)");
  cmd->add_option("--directory", flags.directory,
                  "the CA's ACME directory URL (default: the daemon's acme.directory)");
  cmd->add_option("--directory-ca", flags.directory_ca,
                  "PEM file to verify the CA's HTTPS with (default: the system trust store)");
  cmd->add_option("--key-type", flags.key_type, "the certificate's key: ecdsa-p256 (default) or rsa-2048");
  cmd->add_option("--management-socket", flags.management_socket,
                  "the daemon's management socket (serve --management-socket PATH)");
  cmd->add_option("--timeout", flags.timeout, "give up after this long (default 10m)");
  cmd->callback([&flags, &action] { action = [&flags] { return cert(flags); }; });
}

}  // namespace basalt::apps
