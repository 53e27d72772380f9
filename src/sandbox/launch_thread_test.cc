#include "sandbox/launch_thread.h"

#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace lambent::sandbox {
namespace {

TEST(LaunchThread, RunsTasksInOrderOnOneThreadOfItsOwn) {
  LaunchThread launcher;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::promise<void> done;
  for (int i = 0; i < 5; ++i) {
    launcher.Post([&, i] {
      LAMBENT_DCHECK_THREAD(launcher.affinity());
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
      if (i == 4) done.set_value();
    });
  }
  done.get_future().wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (auto id : threads) {
    EXPECT_EQ(id, threads.front());
    EXPECT_NE(id, std::this_thread::get_id());
  }
  EXPECT_FALSE(launcher.affinity().OnOwner());
}

TEST(LaunchThread, StopFinishesTheTaskInHandAndDropsTheRestOnTheCallingThread) {
  LaunchThread launcher;
  std::promise<void> started, release;
  auto gate = release.get_future().share();
  bool first_finished = false;
  launcher.Post([&] {
    started.set_value();
    gate.wait();
    first_finished = true;
  });
  started.get_future().wait();
  auto capture = std::make_shared<int>(0);
  bool second_ran = false;
  launcher.Post([&second_ran, capture] { second_ran = true; });
  EXPECT_EQ(launcher.pending(), 2u);
  std::thread stopper([&] { launcher.Stop(); });
  while (launcher.pending() != 1) std::this_thread::yield();  // Stop has taken the queue
  release.set_value();
  stopper.join();
  EXPECT_TRUE(first_finished);
  EXPECT_FALSE(second_ran);
  EXPECT_EQ(capture.use_count(), 1);  // the dropped task is gone
  launcher.Post([&second_ran] { second_ran = true; });  // after Stop: dropped
  EXPECT_EQ(launcher.pending(), 0u);
  EXPECT_FALSE(second_ran);
}

}  // namespace
}  // namespace lambent::sandbox
