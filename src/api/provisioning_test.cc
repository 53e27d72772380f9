#include "api/provisioning.h"

#include <gtest/gtest.h>

namespace lambent::api {
namespace {

// Keeps nothing: the registry's model is all these tests read.
class NullStore : public registry::Store {
 public:
  Result<void> Apply(const registry::StoreChanges&) override { return Ok(); }
  Result<registry::StoredState> LoadAll() override { return registry::StoredState{}; }
};

class ProvisionedTargetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Load());
    registry::FunctionConfig config;
    config.name = "fn";
    config.runtime = "python3.11";
    config.handler = "app.handler";
    ASSERT_TRUE(registry_.Create(config, /*publish=*/true));
    auto updated = registry_.Update(
        "fn", "",
        [](registry::FunctionConfig& c) {
          c.timeout_s = 9;
          return Ok();
        },
        /*publish=*/true);
    ASSERT_TRUE(updated) << updated.error().message();
    ASSERT_EQ((*updated)->version, "2");
    registry::Alias alias;
    alias.function = "fn";
    alias.name = "live";
    alias.version = "1";
    auto created = registry_.CreateAlias(alias);
    ASSERT_TRUE(created) << created.error().message();
  }

  registry::Registry registry_{std::make_unique<NullStore>()};
};

TEST_F(ProvisionedTargetsTest, IsEmptyForAFunctionWithoutProvisioningOrNoFunctionAtAll) {
  EXPECT_TRUE(ProvisionedTargets(registry_, "fn").empty());
  EXPECT_TRUE(ProvisionedTargets(registry_, "nobody").empty());
}

TEST_F(ProvisionedTargetsTest, CountsAnAliasForItsPrimaryVersionAndAVersionForItself) {
  ASSERT_TRUE(registry_.SetProvisioned("fn", "live", registry::ProvisionedConfig{2, 0}));
  ASSERT_TRUE(registry_.SetProvisioned("fn", "2", registry::ProvisionedConfig{3, 0}));
  auto targets = ProvisionedTargets(registry_, "fn");
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets["1"].count, 2);
  EXPECT_EQ(targets["1"].config->version, "1");
  EXPECT_EQ(targets["2"].count, 3);
  EXPECT_EQ(targets["2"].config->timeout_s, 9);
}

TEST_F(ProvisionedTargetsTest, FollowsTheAliasToItsNewVersion) {
  ASSERT_TRUE(registry_.SetProvisioned("fn", "live", registry::ProvisionedConfig{2, 0}));
  auto updated = registry_.UpdateAlias("fn", "live", "", [](registry::Alias& a) {
    a.version = "2";
    return Ok();
  });
  ASSERT_TRUE(updated) << updated.error().message();
  auto targets = ProvisionedTargets(registry_, "fn");
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets["2"].count, 2);
}

}  // namespace
}  // namespace lambent::api
