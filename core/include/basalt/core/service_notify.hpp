// Telling the service manager (systemd, `Type=notify`) about this process:
// the sd_notify protocol written out here rather than linking libsystemd.
// A daemon calls it once it serves ("READY=1"), and a process that has taken
// over from a running one also names itself the service's main process
// ("MAINPID=<pid>\nREADY=1"; the unit needs `NotifyAccess=all`).
//
//   core::notify_service_manager("READY=1");
//
// The state is sent as one datagram to the AF_UNIX socket named by
// $NOTIFY_SOCKET: a path, or an abstract socket when it starts with '@'.
// Without $NOTIFY_SOCKET it does nothing and returns false. The variable is
// left in the environment, so a successor started by this process can
// notify too. Thread-safety: safe from any thread; never throws.
#pragma once

#include <string_view>

namespace basalt::core {

// True when the datagram was sent. A failure (no such socket, the manager
// gone) is returned, not logged: a daemon runs on without a manager.
bool notify_service_manager(std::string_view state) noexcept;

}  // namespace basalt::core
