#include "basalt/core/service_notify.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "basalt/core/unique_fd.hpp"

namespace basalt::core {
namespace {

// A datagram socket standing in for the service manager, at a path or (name
// starting with '@') in the abstract namespace; $NOTIFY_SOCKET names it.
class FakeManager {
 public:
  explicit FakeManager(const std::string& name) : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    if (name[0] == '@') a.sun_path[0] = '\0';
    auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), size), 0) << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~FakeManager() { ::unsetenv("NOTIFY_SOCKET"); }
  std::string receive() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "<nothing>";
    char buf[512];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    return n < 0 ? "<error>" : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  UniqueFd fd_;
};

TEST(ServiceNotifyTest, SendsTheStateToAPathSocket) {
  auto path = std::filesystem::temp_directory_path() / ("basalt-notify-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  {
    FakeManager manager(path.string());
    EXPECT_TRUE(notify_service_manager("READY=1"));
    EXPECT_EQ(manager.receive(), "READY=1");
    EXPECT_TRUE(notify_service_manager("MAINPID=42\nREADY=1"));
    EXPECT_EQ(manager.receive(), "MAINPID=42\nREADY=1");
  }
  std::filesystem::remove(path);
}

TEST(ServiceNotifyTest, SendsTheStateToAnAbstractSocket) {
  FakeManager manager("@basalt-notify-test-" + std::to_string(::getpid()));
  EXPECT_TRUE(notify_service_manager("READY=1"));
  EXPECT_EQ(manager.receive(), "READY=1");
}

TEST(ServiceNotifyTest, WithoutAManagerNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notify_service_manager("READY=1"));
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(notify_service_manager("READY=1"));
  ::setenv("NOTIFY_SOCKET", "/nonexistent/basalt/notify.sock", 1);
  EXPECT_FALSE(notify_service_manager("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace basalt::core
