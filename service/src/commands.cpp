#include "basalt/service/commands.hpp"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>
#include <boost/json/array.hpp>

#include <algorithm>

#include "basalt/core/config.hpp"
#include "basalt/core/management/registry.hpp"

namespace basalt::service {
namespace json = boost::json;

namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

json::array names(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& n : list) out.emplace_back(n);
  return out;
}

}  // namespace

CertificateRequest parse_certificate_request(const json::object& params) {
  static constexpr std::string_view kAllowed[] = {"domains", "email", "directory", "directoryCa", "keyType"};
  for (const auto& kv : params) {
    if (std::find(std::begin(kAllowed), std::end(kAllowed), kv.key()) == std::end(kAllowed)) {
      throw core::config::Error(
          std::string(kv.key()),
          "is not a parameter of retrieveCertificate (domains, email, directory, directoryCa, keyType)");
    }
  }
  const auto* d = params.if_contains("domains");
  if (!d) throw core::config::Error("domains", "missing (the names to certify)");
  CertificateRequest r;
  if (d->is_string()) {
    r.domains.emplace_back(d->get_string());
  } else {
    r.domains = core::config::decode<std::vector<std::string>>(*d, "domains");
  }
  auto text = [&](std::string_view key, std::string& out) {
    if (const auto* v = params.if_contains(key))
      out = core::config::decode<std::string>(*v, std::string(key));
  };
  text("email", r.email);
  text("directory", r.directory);
  text("directoryCa", r.directory_ca);
  std::string key_type;
  text("keyType", key_type);
  if (!key_type.empty()) {
    r.key_type = acme::parse_key_type(key_type);
    if (!r.key_type) {
      throw core::config::Error("keyType",
                                "\"" + key_type + "\" is not one of: " + std::string(acme::kKeyTypeHelp));
    }
  }
  return r;
}

json::object certificate_result(const acme::Obtained& r) {
  return {{"domains", names(r.certificate.domains)},
          {"issued", r.issued},
          {"notBefore", iso_time(r.certificate.not_before)},
          {"notAfter", iso_time(r.certificate.not_after)},
          {"certificatePath", r.certificate.certificate_path.string()},
          {"keyPath", r.certificate.key_path.string()},
          {"certificate", r.certificate.certificate_pem}};
}

json::object certificates_json(const std::vector<CertificateStatus>& status) {
  json::array list;
  for (const auto& s : status) {
    list.push_back(json::object{{"domains", names(s.names)},
                                {"notBefore", iso_time(s.not_before)},
                                {"notAfter", iso_time(s.not_after)},
                                {"source", std::string(to_string(s.source))},
                                {"keyType", s.key_type},
                                {"default", s.is_default}});
  }
  return {{"certificates", std::move(list)}};
}

void update_certs(CertificateSet* set, const json::object& params) {
  auto field = [&](std::string_view key) {
    auto it = params.find(key);
    if (it == params.end() || !it->value().is_string() || it->value().get_string().empty()) {
      throw core::config::Error(std::string(key), "missing (PEM text or a PEM file path)");
    }
    return std::string(it->value().get_string());
  };
  core::TlsCertificateSource source{field("httpsCert"), field("httpsKey")};
  if (!set) throw std::invalid_argument("nothing here serves TLS: there is no certificate to replace");
  set->set_static(source);
  spdlog::info("certificate replaced (updateCerts)");
}

void add_service_commands(core::management::Registry& registry, ServiceCommands c) {
  if (c.stop) {
    registry.add_sync("stop", [stop = c.stop](const json::object&) {
      stop();
      return json::object();
    });
  }
  if (c.metrics) registry.add_sync("getMetrics", [m = c.metrics](const json::object&) { return m(); });
  registry.add_sync("getCertificates", [set = c.certificates](const json::object&) {
    return certificates_json(set ? set->status() : std::vector<CertificateStatus>{});
  });
  registry.add_sync("updateCerts", [set = c.certificates](const json::object& params) {
    update_certs(set, params);
    return json::object();
  });
  if (c.retrieve) {
    registry.add(
        "retrieveCertificate",
        [retrieve = c.retrieve](core::management::Call& call) -> boost::asio::awaitable<json::value> {
          auto request = parse_certificate_request(call.params());
          acme::ProgressFn progress = [&call](const acme::Progress& p) {
            call.stream(json::object{{"step", p.step}, {"message", p.message}});
          };
          auto obtained = co_await retrieve(std::move(request), progress);
          co_return certificate_result(obtained);
        });
  }
}

}  // namespace basalt::service
