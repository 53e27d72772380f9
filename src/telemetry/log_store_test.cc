#include "telemetry/log_store.h"

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace lambent::telemetry {
namespace {

namespace fs = std::filesystem;

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lambent-log-store-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string Lines(int from, int to) {
  std::string text;
  for (int i = from; i <= to; ++i) text += "line " + std::to_string(i) + " " + std::string(100, 'x') + "\n";
  return text;
}

TEST_F(LogStoreTest, ReadsTheWholeLogOrItsLastLines) {
  LogStore logs(dir_);
  logs.Append("fn", "one\ntwo\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 0), "one\ntwo\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 2), "two\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 3), "one\ntwo\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 10), "one\ntwo\nthree\n");
  logs.Append("fn", "partial");
  EXPECT_EQ(*logs.Read("fn", 1), "partial");
  EXPECT_EQ(*logs.Read("fn", 2), "three\npartial");
}

TEST_F(LogStoreTest, TailsAcrossManyBlocksOfALongLog) {
  LogStore logs(dir_);
  logs.Append("fn", Lines(1, 5000));  // ~550 KB: several read blocks
  EXPECT_EQ(*logs.Read("fn", 1), Lines(5000, 5000));
  EXPECT_EQ(*logs.Read("fn", 1500), Lines(3501, 5000));
  EXPECT_EQ(*logs.Read("fn", 6000), Lines(1, 5000));
  EXPECT_EQ(*logs.Read("fn", 0), Lines(1, 5000));
}

TEST_F(LogStoreTest, AFunctionWithoutALogIsNotFound) {
  LogStore logs(dir_);
  auto text = logs.Read("nobody", 5);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace lambent::telemetry
