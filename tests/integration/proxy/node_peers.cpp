#include "node_peers.hpp"

#include <filesystem>

namespace basalt::proxy_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

NodePeers& NodePeers::get() {
  static NodePeers peers;
  return peers;
}

NodePeers::NodePeers() {
  const fs::path from = fs::path(testing::source_dir()) / "tests/integration/proxy/node";
  for (const auto& entry : fs::directory_iterator(from)) {
    fs::copy_file(entry.path(), fs::path(dir_.path()) / entry.path().filename());
  }
  auto r = testing::run({"npm", "install", "--prefix", dir_.path(), "--no-audit", "--no-fund",
                         "--ignore-scripts", "--loglevel=error"},
                        600s);
  if (r.exit_code == 0) return;
  if (testing::run({"npm", "ping", "--loglevel=error"}, 60s).exit_code != 0) {
    skip_ = "the npm registry cannot be reached";
  } else {
    error_ = "npm install of the test peers failed: " + r.err;
  }
}

NodeServer::NodeServer(const std::string& script, std::vector<std::string> args) {
  std::vector<std::string> argv{"node", NodePeers::get().script(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  process.emplace(testing::Process::Options{.argv = argv});
  auto line = process->read_line(20s);
  if (line && line->starts_with("listening ")) port = static_cast<std::uint16_t>(std::stoi(line->substr(10)));
}

boost::json::object run_client(const std::string& script, std::vector<std::string> args,
                               std::chrono::seconds timeout) {
  std::vector<std::string> argv{"node", NodePeers::get().script(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::run(argv, timeout);
  auto nl = r.out.find('\n');
  try {
    return boost::json::parse(r.out.substr(0, nl)).as_object();
  } catch (const std::exception&) {
    boost::json::object o;
    o["ok"] = false;
    o["error"] = "no JSON from " + script + ": " + r.out + r.err;
    return o;
  }
}

}  // namespace basalt::proxy_test
