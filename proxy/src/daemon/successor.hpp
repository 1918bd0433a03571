// Starting a successor of this daemon for a socket takeover from inside the
// daemon (SIGUSR2, as nginx upgrades its binary): under a service manager
// the new process must be a child of the service to belong to it, so the
// running process starts it and the new one names itself the main process.
//
//   pid_t pid = start_successor({"/usr/bin/basalt-proxy", "serve", "--config", "f.yaml", "--takeover"});
//
// The child gets the environment ($NOTIFY_SOCKET), stdin, stdout and stderr,
// an empty signal mask, and no other descriptor. Throws std::system_error
// when it cannot be started.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace basalt::proxy {

pid_t start_successor(const std::vector<std::string>& argv);

}  // namespace basalt::proxy
