#include "balance/backend_state.hpp"

#include <gtest/gtest.h>

namespace basalt::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = BackendState::Clock;

PassiveHealth passive(std::uint32_t failures, std::chrono::milliseconds base, std::chrono::milliseconds max) {
  return {.consecutive_failures = failures, .base_ejection_time = base, .max_ejection_time = max};
}

TEST(BackendState, EjectedAfterConsecutiveFailuresUntilTheEjectionTimeRunsOut) {
  BackendState state;
  const auto policy = passive(3, 50ms, 1000ms);
  const auto t0 = Clock::now();
  EXPECT_FALSE(state.report_failure(policy, t0));
  EXPECT_FALSE(state.report_failure(policy, t0));
  EXPECT_FALSE(state.ejected(t0));
  auto ejection = state.report_failure(policy, t0);
  ASSERT_TRUE(ejection);
  EXPECT_EQ(ejection->time, 50ms);
  EXPECT_EQ(ejection->in_a_row, 1u);
  EXPECT_TRUE(state.ejected(t0 + 49ms));
  EXPECT_FALSE(state.ejected(t0 + 50ms));
  EXPECT_EQ(state.counters().ejections, 1u);
  EXPECT_EQ(state.counters().failures, 3u);
}

TEST(BackendState, ASuccessBetweenFailuresPreventsEjection) {
  BackendState state;
  const auto policy = passive(3, 50ms, 1000ms);
  const auto t0 = Clock::now();
  state.report_failure(policy, t0);
  state.report_failure(policy, t0);
  state.report_success();
  EXPECT_FALSE(state.report_failure(policy, t0));
  EXPECT_FALSE(state.report_failure(policy, t0));
  EXPECT_FALSE(state.ejected(t0));
}

TEST(BackendState, EjectionTimeDoublesForEjectionsInARowUpToTheMaximum) {
  BackendState state;
  const auto policy = passive(2, 50ms, 300ms);
  auto now = Clock::now();
  std::vector<std::chrono::milliseconds> times;
  for (int i = 0; i < 5; ++i) {
    std::optional<BackendState::Ejection> ejection;
    while (!ejection) ejection = state.report_failure(policy, now);
    times.push_back(ejection->time);
    now += ejection->time;  // the ejection ran out: the backend is tried again and fails
  }
  EXPECT_EQ(times, (std::vector<std::chrono::milliseconds>{50ms, 100ms, 200ms, 300ms, 300ms}));
}

TEST(BackendState, AfterAnEjectionOneFailureEjectsAgainUntilASuccess) {
  BackendState state;
  const auto policy = passive(3, 50ms, 1000ms);
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) state.report_failure(policy, now);
  now += 50ms;
  auto again = state.report_failure(policy, now);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->time, 100ms);
  EXPECT_EQ(again->in_a_row, 2u);

  now += 100ms;
  state.report_success();  // it works again: the streak ends
  EXPECT_FALSE(state.report_failure(policy, now));
  EXPECT_FALSE(state.report_failure(policy, now));
  auto fresh = state.report_failure(policy, now);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->time, 50ms);
}

TEST(BackendState, FailuresWhileEjectedNeitherExtendNorDoubleTheEjection) {
  BackendState state;
  const auto policy = passive(1, 50ms, 1000ms);
  const auto t0 = Clock::now();
  ASSERT_TRUE(state.report_failure(policy, t0));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(state.report_failure(policy, t0 + 10ms));
  EXPECT_FALSE(state.ejected(t0 + 50ms));
  EXPECT_EQ(state.counters().ejections, 1u);
  EXPECT_EQ(state.counters().failures, 11u);
}

TEST(BackendState, PassiveEjectionOffOrRefusedNeverEjects) {
  BackendState state;
  const auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(state.report_failure(passive(0, 50ms, 100ms), t0));
  BackendState last;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(last.report_failure(passive(2, 50ms, 100ms), t0, false));
  EXPECT_FALSE(last.ejected(t0));
  // Once ejecting is allowed again, the next failure does it.
  EXPECT_TRUE(last.report_failure(passive(2, 50ms, 100ms), t0, true));
}

TEST(BackendState, ActiveChecksUseTheThresholds) {
  BackendState state;
  EXPECT_TRUE(state.up());  // a backend starts UP
  EXPECT_EQ(state.record_check(false, 2, 3), BackendState::Change::kNone);
  EXPECT_EQ(state.record_check(false, 2, 3), BackendState::Change::kNone);
  EXPECT_EQ(state.record_check(true, 2, 3), BackendState::Change::kNone);  // the run is broken
  EXPECT_EQ(state.record_check(false, 2, 3), BackendState::Change::kNone);
  EXPECT_EQ(state.record_check(false, 2, 3), BackendState::Change::kNone);
  EXPECT_EQ(state.record_check(false, 2, 3), BackendState::Change::kWentDown);
  EXPECT_FALSE(state.up());
  EXPECT_EQ(state.record_check(false, 2, 3), BackendState::Change::kNone);  // reported once
  EXPECT_EQ(state.record_check(true, 2, 3), BackendState::Change::kNone);
  EXPECT_FALSE(state.up());
  EXPECT_EQ(state.record_check(true, 2, 3), BackendState::Change::kCameUp);
  EXPECT_TRUE(state.up());
  state.record_check(false, 1, 1);
  EXPECT_FALSE(state.up());
  state.reset_check();
  EXPECT_TRUE(state.up());
}

TEST(BackendState, InFlightIsCappedAtTheLimit) {
  BackendState state;
  EXPECT_TRUE(state.try_acquire(2));
  EXPECT_TRUE(state.try_acquire(2));
  EXPECT_FALSE(state.try_acquire(2));
  EXPECT_EQ(state.in_flight(), 2u);
  state.release();
  EXPECT_TRUE(state.try_acquire(2));
  EXPECT_EQ(state.counters().requests, 3u);
}

}  // namespace
}  // namespace basalt::proxy
