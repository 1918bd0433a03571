#include "basalt/core/snapshot.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace basalt::core {
namespace {

struct Table {
  std::map<std::string, int> entries;
  int checksum = 0;  // always the sum of entries: readers must never see a torn table
};

TEST(Snapshot, ReaderSeesPublishedValue) {
  Snapshot<Table> snap;
  Snapshot<Table>::Reader reader(snap);
  EXPECT_TRUE(reader.get().entries.empty());
  snap.update([](Table& t) {
    t.entries["a"] = 1;
    t.checksum = 1;
  });
  EXPECT_EQ(reader.get().entries.at("a"), 1);
  EXPECT_EQ(snap.load()->checksum, 1);
}

TEST(Snapshot, FailedUpdateChangesNothing) {
  Snapshot<Table> snap;
  snap.update([](Table& t) { t.entries["a"] = 1; });
  auto before = snap.version();
  EXPECT_THROW(snap.update([](Table& t) {
    t.entries["b"] = 2;
    throw std::runtime_error("rejected");
  }),
               std::runtime_error);
  EXPECT_EQ(snap.version(), before);
  EXPECT_EQ(snap.load()->entries.count("b"), 0u);
}

TEST(Snapshot, ConcurrentReadersNeverSeeTornStateAndNoUpdateIsLost) {
  Snapshot<Table> snap;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      Snapshot<Table>::Reader reader(snap);
      while (!done.load()) {
        const Table& t = reader.get();
        int sum = 0;
        for (auto& [k, v] : t.entries) sum += v;
        if (sum != t.checksum) torn.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i) {
        snap.update([&](Table& t) {
          t.entries[std::to_string(w) + ":" + std::to_string(i)] = 1;
          t.checksum += 1;
        });
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(snap.load()->entries.size(), 1000u);
  EXPECT_EQ(snap.load()->checksum, 1000);
}

}  // namespace
}  // namespace basalt::core
