#include "basalt/core/service_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "basalt/core/unique_fd.hpp"

namespace basalt::core {

bool notify_service_manager(std::string_view state) noexcept {
  const char* target = std::getenv("NOTIFY_SOCKET");
  if (!target || state.empty()) return false;
  std::size_t length = std::strlen(target);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // Abstract namespace: a leading NUL instead of '@', no terminator.
  if (length < 2 || length > sizeof address.sun_path || (target[0] != '/' && target[0] != '@')) return false;
  if (target[0] == '/' && length == sizeof address.sun_path) return false;  // no room for the NUL
  std::memcpy(address.sun_path, target, length);
  if (target[0] == '@') address.sun_path[0] = '\0';
  auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length + (target[0] == '/' ? 1 : 0));
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  ssize_t sent;
  do {
    sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
                    size);
  } while (sent < 0 && errno == EINTR);
  return sent == static_cast<ssize_t>(state.size());
}

}  // namespace basalt::core
