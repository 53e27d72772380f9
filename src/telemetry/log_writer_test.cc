#include "telemetry/log_writer.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace lambent::telemetry {
namespace {

namespace fs = std::filesystem;

class LogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lambent-log-writer-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string FileText(const std::string& function) {
    std::ifstream in(dir_ / (function + ".log"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
};

TEST_F(LogWriterTest, WritesAppendsToTheFileWithoutAnyoneCallingFlush) {
  LogStore logs(dir_);
  LogWriter writer(logs, std::chrono::milliseconds(10));
  logs.Append("fn", "hello\n");
  for (int i = 0; i < 500 && FileText("fn").empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(FileText("fn"), "hello\n");
}

TEST_F(LogWriterTest, StoppingFlushesWhatIsStillBuffered) {
  LogStore logs(dir_);
  LogWriter writer(logs, std::chrono::hours(1));
  logs.Append("fn", "last words\n");
  writer.Stop();
  EXPECT_EQ(FileText("fn"), "last words\n");
  writer.Stop();  // idempotent
}

TEST_F(LogWriterTest, KeepsEveryFunctionsLinesInOrderWhileAppendsRace) {
  LogStore logs(dir_);
  LogWriter writer(logs, std::chrono::milliseconds(1));
  std::atomic<bool> reading{true};
  // Reads flush too, from another thread: the batches must still reach the file in order.
  std::thread reader([&] {
    while (reading) (void)logs.Read("fn", 1);
  });
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    logs.Append("fn", line);
    expected += line;
  }
  reading = false;
  reader.join();
  writer.Stop();
  EXPECT_EQ(FileText("fn"), expected);
}

}  // namespace
}  // namespace lambent::telemetry
