#include "daemon/successor.hpp"

#include <signal.h>
#include <spawn.h>

#include <stdexcept>
#include <system_error>

extern char** environ;

namespace basalt::proxy {

pid_t start_successor(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("start_successor: no command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  // Asio opens sockets without O_CLOEXEC: nothing of ours may reach the
  // child, or client connections would outlive this process's drain.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (err != 0) throw std::system_error(err, std::system_category(), "starting " + argv[0]);
  return pid;
}

}  // namespace basalt::proxy
