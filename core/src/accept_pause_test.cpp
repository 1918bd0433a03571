#include "basalt/core/accept_pause.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include <cerrno>

namespace basalt::core {
namespace {

boost::system::error_code sys(int e) {
  return {e, boost::system::system_category()};
}

TEST(AcceptPauseTest, OutOfDescriptorsPausesLongerEachTimeUpToOneSecond) {
  AcceptPause pause("test");
  EXPECT_EQ(pause.after_error(sys(EMFILE)).count(), 10);
  EXPECT_EQ(pause.after_error(sys(ENFILE)).count(), 20);
  EXPECT_EQ(pause.after_error(sys(EMFILE)).count(), 40);
  for (int i = 0; i < 20; ++i) pause.after_error(sys(ENOBUFS));
  EXPECT_EQ(pause.after_error(sys(ENOMEM)).count(), 1000);
  EXPECT_EQ(pause.failures(), 24u);
}

TEST(AcceptPauseTest, ASuccessStartsOverAndOtherErrorsDoNotPause) {
  AcceptPause pause("test");
  pause.after_error(sys(EMFILE));
  pause.after_error(sys(EMFILE));
  pause.after_success();
  EXPECT_EQ(pause.after_error(sys(EMFILE)).count(), 10);
  EXPECT_EQ(pause.after_error(sys(ECONNABORTED)).count(), 0);
  EXPECT_EQ(pause.after_error(boost::asio::error::operation_aborted).count(), 0);
  EXPECT_EQ(pause.failures(), 3u);
}

}  // namespace
}  // namespace basalt::core
