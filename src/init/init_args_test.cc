#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "init/init_process.h"

namespace lambent::init {
namespace {

bool Parse(std::vector<std::string> args, InitOptions& options, std::string& error) {
  args.insert(args.begin(), "lambent-init");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseInitArgs(int(argv.size()), argv.data(), options, error);
}

TEST(InitArgs, AdoptTakesTheRuntimeTheZygoteForked) {
  InitOptions options;
  std::string error;
  ASSERT_TRUE(Parse({"--adopt", "2", "--sandbox", "--prestarted", "--cwd", "/", "--", "python3", "b.py"}, options,
                    error))
      << error;
  EXPECT_EQ(options.adopt_pid, 2);
  EXPECT_TRUE(options.sandbox);
  EXPECT_EQ(options.argv, (std::vector<std::string>{"python3", "b.py"}));
}

TEST(InitArgs, AdoptWantsAPidAndTheSandbox) {
  for (auto args : {std::vector<std::string>{"--adopt", "0", "--sandbox", "--", "x"},
                    std::vector<std::string>{"--adopt", "two", "--sandbox", "--", "x"},
                    std::vector<std::string>{"--adopt", "2", "--", "x"}}) {
    InitOptions options;
    std::string error;
    EXPECT_FALSE(Parse(args, options, error)) << args[1];
    EXPECT_FALSE(error.empty());
  }
}

}  // namespace
}  // namespace lambent::init
