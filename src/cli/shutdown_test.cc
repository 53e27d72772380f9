#include "cli/shutdown.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace lambent::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Records what the shutdown asked of the daemon, in order.
struct FakeDaemon {
  std::vector<std::string> steps;
  std::function<void()> drained;
  size_t connections = 0;
  bool stopped = false;
  Clock::time_point killed_at;
  boost::asio::io_context* io = nullptr;

  ShutdownSteps Steps() {
    return {
        .stop_accepting = [this] { steps.push_back("stop_accepting"); },
        .drain =
            [this](std::function<void()> cb) {
              steps.push_back("drain");
              drained = std::move(cb);
            },
        .in_flight = [] { return 1; },
        .kill =
            [this] {
              steps.push_back("kill");
              killed_at = Clock::now();
            },
        .open_connections = [this] { return connections; },
        .stop =
            [this] {
              steps.push_back("stop");
              stopped = true;
              io->stop();
            },
    };
  }
};

class GracefulShutdownTest : public ::testing::Test {
 protected:
  GracefulShutdownTest() { daemon_.io = &io_; }
  boost::asio::io_context io_;
  FakeDaemon daemon_;
};

TEST_F(GracefulShutdownTest,
       StopsAcceptingAndWaitsForTheInvocationsInFlightBeforeStoppingEnvironments) {
  GracefulShutdown shutdown(io_, 10s, daemon_.Steps());
  shutdown.OnSignal(SIGTERM);
  EXPECT_EQ(daemon_.steps, (std::vector<std::string>{"stop_accepting", "drain"}));
  io_.run_for(20ms);
  EXPECT_FALSE(daemon_.stopped);
  daemon_.drained();
  io_.restart();
  io_.run_for(1s);
  EXPECT_EQ(daemon_.steps, (std::vector<std::string>{"stop_accepting", "drain", "kill", "stop"}));
}

TEST_F(GracefulShutdownTest, StopsWhatIsStillRunningWhenTheGracePeriodEnds) {
  GracefulShutdown shutdown(io_, 100ms, daemon_.Steps());
  auto start = Clock::now();
  shutdown.OnSignal(SIGTERM);
  io_.run_for(5s);
  ASSERT_TRUE(daemon_.stopped);
  EXPECT_GE(daemon_.killed_at - start, 100ms);
  EXPECT_EQ(daemon_.steps, (std::vector<std::string>{"stop_accepting", "drain", "kill", "stop"}));
  // A drain that completes afterwards changes nothing.
  daemon_.drained();
  EXPECT_EQ(daemon_.steps.size(), 4u);
}

TEST_F(GracefulShutdownTest, ASecondSignalStopsEverythingAtOnce) {
  GracefulShutdown shutdown(io_, 1h, daemon_.Steps());
  shutdown.OnSignal(SIGTERM);
  shutdown.OnSignal(SIGINT);
  io_.run_for(5s);
  EXPECT_EQ(daemon_.steps, (std::vector<std::string>{"stop_accepting", "drain", "kill", "stop"}));
}

TEST_F(GracefulShutdownTest, AZeroGracePeriodStopsEverythingAtOnceWithoutDraining) {
  GracefulShutdown shutdown(io_, 0s, daemon_.Steps());
  shutdown.OnSignal(SIGTERM);
  io_.run_for(5s);
  EXPECT_EQ(daemon_.steps, (std::vector<std::string>{"stop_accepting", "kill", "stop"}));
}

TEST_F(GracefulShutdownTest, LetsOpenConnectionsFinishWritingForAtMostTheFlushPeriod) {
  daemon_.connections = 1;
  GracefulShutdown shutdown(io_, 1h, daemon_.Steps(), 150ms);
  shutdown.OnSignal(SIGTERM);
  daemon_.drained();
  io_.run_for(50ms);
  EXPECT_FALSE(daemon_.stopped);  // the last response is still being written
  io_.restart();
  io_.run_for(5s);
  EXPECT_TRUE(daemon_.stopped);
  EXPECT_GE(Clock::now() - daemon_.killed_at, 150ms);
}

TEST_F(GracefulShutdownTest, EndsTheFlushAsSoonAsTheLastConnectionCloses) {
  daemon_.connections = 1;
  GracefulShutdown shutdown(io_, 1h, daemon_.Steps(), 1h);
  shutdown.OnSignal(SIGTERM);
  daemon_.drained();
  io_.run_for(30ms);
  EXPECT_FALSE(daemon_.stopped);
  daemon_.connections = 0;
  io_.restart();
  io_.run_for(5s);
  EXPECT_TRUE(daemon_.stopped);
}

TEST_F(GracefulShutdownTest, AnswersARealSigterm) {
  GracefulShutdown shutdown(io_, 1h, daemon_.Steps());
  ::raise(SIGTERM);
  io_.run_for(100ms);
  EXPECT_EQ(daemon_.steps, (std::vector<std::string>{"stop_accepting", "drain"}));
  ::raise(SIGTERM);
  io_.restart();
  io_.run_for(5s);
  EXPECT_TRUE(daemon_.stopped);
}

}  // namespace
}  // namespace lambent::cli
