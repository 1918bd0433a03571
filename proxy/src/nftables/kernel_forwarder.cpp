#include "nftables/kernel_forwarder.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json.hpp>

#include <map>
#include <stdexcept>

#include "nftables/forwarding_check.hpp"

namespace basalt::proxy {

namespace json = boost::json;

namespace {

std::string table_ref(const std::string& name) {
  return fmt::format("{} {}", RulePlan::kFamily, name);
}

// Rules by comment in a `list table` JSON document.
std::map<std::string, std::size_t> rules_by_comment(const std::string& document) {
  std::map<std::string, std::size_t> out;
  boost::system::error_code ec;
  const json::value doc = json::parse(document, ec);
  if (ec || !doc.is_object()) return out;
  const auto* items = doc.as_object().if_contains("nftables");
  if (!items || !items->is_array()) return out;
  for (const auto& item : items->as_array()) {
    const auto* obj = item.if_object();
    const auto* rule = obj ? obj->if_contains("rule") : nullptr;
    const auto* fields = rule ? rule->if_object() : nullptr;
    const auto* comment = fields ? fields->if_contains("comment") : nullptr;
    if (comment && comment->is_string()) ++out[std::string(comment->as_string())];
  }
  return out;
}

}  // namespace

KernelForwarder::KernelForwarder(std::filesystem::path state_dir) : ownership_(std::move(state_dir)) {}

KernelForwarder::~KernelForwarder() = default;

NftSession& KernelForwarder::session() {
  if (!session_) session_ = std::make_unique<NftSession>();
  return *session_;
}

// The table's text listing; "" when it does not exist.
std::string KernelForwarder::listing(const std::string& table) {
  return session().query("list table " + table_ref(table)).value_or("");
}

void KernelForwarder::apply(const RulePlan& plan) {
  const auto listed = ownership_.listed();
  if (plan.empty() && listed.empty() && tables_.empty()) {
    installed_ = plan;
    return;
  }
  try {
    check_forwarding(plan);
    const auto wanted_list = plan.table_names();
    const std::set<std::string> wanted(wanted_list.begin(), wanted_list.end());
    for (const auto& name : wanted) {
      const auto text = listing(name);
      if (text.empty()) continue;
      const auto comment = TableOwnership::comment_of(text);
      if (!listed.contains(name) || !TableOwnership::is_ours(comment)) {
        throw std::runtime_error(fmt::format(
            "nftables table {} exists and was not made by this basalt-proxy (comment \"{}\", not in {}): "
            "it is left alone; give the route another action.nftables.tableName",
            table_ref(name), comment, ownership_.file().string()));
      }
    }
    std::vector<std::string> remove;
    for (const auto& name : listed) {
      if (wanted.contains(name)) continue;
      const auto text = listing(name);
      if (text.empty()) continue;
      if (!TableOwnership::is_ours(TableOwnership::comment_of(text))) {
        spdlog::warn(
            "nftables: table {} is listed in {} but does not carry basalt-proxy's comment; left alone",
            table_ref(name), ownership_.file().string());
        continue;
      }
      remove.push_back(name);
    }
    std::set<std::string> recorded = listed;
    recorded.insert(wanted.begin(), wanted.end());
    ownership_.record(recorded);  // before the tables exist: a crash now still finds them
    try {
      session().run(plan.script(TableOwnership::owner_comment(), remove));
    } catch (...) {
      ownership_.record(listed);
      throw;
    }
    ownership_.record(wanted);
    if (!remove.empty()) spdlog::info("nftables: removed table(s) {}", fmt::join(remove, ", "));
    tables_ = wanted;
    installed_ = plan;
  } catch (const std::exception& e) {
    if (!plan.empty() || !tables_.empty())
      throw std::runtime_error(fmt::format("kernel forwarding: {}", e.what()));
    // Only leftovers of an earlier run to clean, and no route needs nftables.
    spdlog::warn("nftables: cannot remove the tables listed in {}: {}", ownership_.file().string(), e.what());
    installed_ = plan;
    return;
  }
  std::size_t rules = 0;
  for (const auto& r : plan.routes()) rules += r.rules;
  if (!plan.empty()) {
    spdlog::info("nftables: {} kernel route(s), {} rule(s) in table(s) {}", plan.routes().size(), rules,
                 fmt::join(plan.table_names(), ", "));
  }
}

void KernelForwarder::remove_all() noexcept {
  try {
    if (tables_.empty()) return;
    std::string script;
    std::vector<std::string> removed;
    for (const auto& name : tables_) {
      const auto text = listing(name);
      if (text.empty() || !TableOwnership::is_this_process(TableOwnership::comment_of(text))) continue;
      script += fmt::format("delete table {}\n", table_ref(name));
      removed.push_back(name);
    }
    tables_.clear();
    installed_ = RulePlan{};
    if (script.empty()) return;
    session().run(script);
    auto listed = ownership_.listed();
    for (const auto& name : removed) listed.erase(name);
    ownership_.record(listed);
    spdlog::info("nftables: removed table(s) {}", fmt::join(removed, ", "));
  } catch (const std::exception& e) {
    spdlog::error("nftables: cannot remove the proxy's tables: {}", e.what());
  }
}

json::object KernelForwarder::status() {
  json::object out;
  std::map<std::string, std::map<std::string, std::size_t>> counts;  // table -> comment -> rules
  for (const auto& t : installed_.tables()) {
    std::string document;
    try {
      document = session().query("list table " + table_ref(t.name), true).value_or("");
    } catch (const std::exception&) {
    }
    counts[t.name] = rules_by_comment(document);
  }
  for (const auto& r : installed_.routes()) {
    const auto& by_comment = counts[r.table];
    const auto it = by_comment.find(r.tag);
    const std::size_t verified = it == by_comment.end() ? 0 : it->second;
    json::object route;
    route["active"] = r.rules > 0 && verified == r.rules;
    route["ruleCount"] = {{"total", r.rules}, {"added", r.rules}, {"verified", verified}};
    route["tablesConfigured"] = json::array{json::value(r.table)};
    out[r.id] = std::move(route);
  }
  return out;
}

}  // namespace basalt::proxy
