#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "registry/function_config.h"

// What the registry's tests share: a database directory of their own and the function they
// store. Included by tests only.
namespace lambent::registry {

// Gives each test an empty directory, `dir_`, removed after it; named for the test and the
// process so that parallel runs do not meet.
class StoreDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("lambent-" + std::string(test->test_suite_name()) + "-" + std::to_string(::getpid()) +
            "-" + test->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

// The $LATEST configuration of "hello": python3.11, app.handler, A=1.
inline FunctionConfig Hello() {
  FunctionConfig c;
  c.name = "hello";
  c.runtime = "python3.11";
  c.handler = "app.handler";
  c.environment = {{"A", "1"}};
  return c;
}

}  // namespace lambent::registry
