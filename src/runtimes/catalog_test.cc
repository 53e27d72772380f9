#include "runtimes/catalog.h"

#include <gtest/gtest.h>

namespace lambent::runtimes {
namespace {

TEST(Catalog, RunsProvidedRuntimesFromThePackagesBootstrap) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  for (std::string id : {"provided", "provided.al2", "provided.al2023"}) {
    EXPECT_TRUE(catalog.Validate(id)) << id;
    auto command = catalog.Command(id, "/var/task");
    ASSERT_TRUE(command);
    EXPECT_EQ(*command, std::vector<std::string>{"/var/task/bootstrap"});
    EXPECT_EQ(Catalog::ExecutionEnv(id), "");
  }
}

TEST(Catalog, RefusesRuntimeIdsItDoesNotKnow) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  for (std::string id : {"cobol9", "python2.7", "java17", "provided.al1", ""}) {
    auto ok = catalog.Validate(id);
    ASSERT_FALSE(ok) << id;
    EXPECT_EQ(ok.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(Catalog, RefusesIdsLambdaNoLongerAcceptsAndSaysSo) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  for (std::string id : {"nodejs", "nodejs14.x", "python3.7", "go1.x"}) {
    auto ok = catalog.Validate(id);
    ASSERT_FALSE(ok) << id;
    EXPECT_NE(ok.error().message().find("no longer supported"), std::string::npos) << id;
  }
  for (std::string id : {"python3", "python3.14", "nodejs22", "nodejs21.x", "Python3.12"}) {
    auto ok = catalog.Validate(id);
    ASSERT_FALSE(ok) << id;
    EXPECT_NE(ok.error().message().find("enum value set"), std::string::npos) << id;
  }
}

TEST(Catalog, NamesTheLanguagesLambdaHasThatThisHostCannotRun) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  for (std::string id : {"java21", "dotnet8", "ruby3.3"}) {
    auto ok = catalog.Validate(id);
    ASSERT_FALSE(ok) << id;
    EXPECT_NE(ok.error().message().find("not available on this host"), std::string::npos) << id;
  }
}

TEST(Catalog, WarnsWhenTheHostsInterpreterIsAnotherVersionThanTheIdNames) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  const auto& python = catalog.families()[0];
  if (!python.available) GTEST_SKIP() << "no python3 on this host";
  // "Python 3.11.7" -> python3.11 matches, every other minor does not.
  auto minor = python.version.substr(python.version.find('.') + 1);
  minor = minor.substr(0, minor.find('.'));
  std::string same = "python3." + minor;
  std::string other = minor == "12" ? "python3.13" : "python3.12";
  EXPECT_FALSE(catalog.VersionWarning(same)) << same;
  auto warning = catalog.VersionWarning(other);
  ASSERT_TRUE(warning) << other;
  EXPECT_NE(warning->find(python.version), std::string::npos) << *warning;
  EXPECT_FALSE(catalog.VersionWarning("provided.al2023"));
}

TEST(Catalog, StillRunsAFunctionStoredWithAnIdThatIsNowRefused) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  if (!catalog.families()[1].available) GTEST_SKIP() << "no node on this host";
  auto command = catalog.Command("nodejs", "/var/task");
  ASSERT_TRUE(command);
  EXPECT_EQ(command->back(), "/opt/lambent/runtimes/node/bootstrap.cjs");
}

TEST(Catalog, RunsAnyPython3MinorWithTheBuiltInBootstrap) {
  auto catalog = Catalog::Discover("/opt/lambent/runtimes");
  if (!catalog.families()[0].available) GTEST_SKIP() << "no python3 on this host";
  auto command = catalog.Command("python3.12", "/var/task");
  ASSERT_TRUE(command);
  ASSERT_EQ(command->size(), 2u);
  EXPECT_EQ((*command)[1], "/opt/lambent/runtimes/python/bootstrap.py");
  EXPECT_EQ(Catalog::ExecutionEnv("python3.12"), "AWS_Lambda_python3.12");
}

TEST(Catalog, SizesNodesHeapFromTheFunctionsMemoryUnlessTheFunctionDoes) {
  EXPECT_EQ(Catalog::NodeHeapFlags(1769, ""),
            (std::vector<std::string>{"--max-old-space-size=1592", "--max-semi-space-size=2"}));
  EXPECT_EQ(Catalog::NodeHeapFlags(10240, "")[1], "--max-semi-space-size=5");
  EXPECT_EQ(Catalog::NodeHeapFlags(128, "--max-old-space-size=100 --enable-source-maps"),
            (std::vector<std::string>{"--max-semi-space-size=2"}));
  EXPECT_TRUE(Catalog::NodeHeapFlags(128, "--max-semi-space-size=8 --max-old-space-size=64").empty());
}

}  // namespace
}  // namespace lambent::runtimes
