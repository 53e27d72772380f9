#include "registry/registry.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace lambent::registry {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lambent-registry-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Registry> OpenRegistry() {
    auto store = SqliteStore::Open(dir_ / "lambent.db");
    EXPECT_TRUE(store) << store.error().message();
    auto registry = std::make_unique<Registry>(std::move(*store));
    EXPECT_TRUE(registry->Load());
    return registry;
  }

  static FunctionConfig Hello() {
    FunctionConfig c;
    c.name = "hello";
    c.runtime = "python3.11";
    c.handler = "app.handler";
    c.environment = {{"A", "1"}};
    return c;
  }

  std::filesystem::path dir_;
};

TEST_F(RegistryTest, CreatedFunctionsSurviveAReopen) {
  {
    auto registry = OpenRegistry();
    ASSERT_TRUE(registry->Create(Hello()));
  }
  auto registry = OpenRegistry();
  auto found = registry->Find("hello");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->handler, "app.handler");
  EXPECT_EQ(found->environment.at("A"), "1");
  EXPECT_FALSE(found->revision_id.empty());
}

TEST_F(RegistryTest, ACreateOfAnExistingNameIsAConflict) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(registry->Create(Hello()));
  auto again = registry->Create(Hello());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
}

TEST_F(RegistryTest, AnUpdateChangesTheRevisionAndRejectsAStaleOne) {
  auto registry = OpenRegistry();
  auto created = registry->Create(Hello());
  ASSERT_TRUE(created);
  std::string first_revision = (*created)->revision_id;
  auto updated = registry->Update("hello", first_revision, [](FunctionConfig& c) {
    c.timeout_s = 10;
    return Ok();
  });
  ASSERT_TRUE(updated);
  EXPECT_EQ((*updated)->timeout_s, 10);
  EXPECT_NE((*updated)->revision_id, first_revision);
  auto stale = registry->Update("hello", first_revision, [](FunctionConfig&) { return Ok(); });
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
}

TEST_F(RegistryTest, AFailedMutationChangesNothing) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(registry->Create(Hello()));
  auto failed = registry->Update("hello", "", [](FunctionConfig& c) -> Result<void> {
    c.timeout_s = 99;
    return tl::unexpected(Error::Invalid("no"));
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(registry->Find("hello")->timeout_s, 3);
}

TEST_F(RegistryTest, DeletedFunctionsStayDeletedAfterAReopen) {
  {
    auto registry = OpenRegistry();
    ASSERT_TRUE(registry->Create(Hello()));
    ASSERT_TRUE(registry->Delete("hello"));
    EXPECT_EQ(registry->Delete("hello").error().code(), ErrorCode::kNotFound);
  }
  EXPECT_FALSE(OpenRegistry()->Find("hello"));
}

// A SqliteStore on a disk that has filled up: writes fail as SQLite reports SQLITE_FULL.
class FullDiskStore : public Store {
 public:
  explicit FullDiskStore(std::unique_ptr<SqliteStore> real) : real_(std::move(real)) {}
  Result<void> Put(const FunctionConfig& config) override {
    if (full) return tl::unexpected(Full("put"));
    return real_->Put(config);
  }
  Result<void> DeleteFunction(const std::string& name) override {
    if (full) return tl::unexpected(Full("delete"));
    return real_->DeleteFunction(name);
  }
  Result<std::vector<FunctionConfig>> LoadAll() override { return real_->LoadAll(); }

  bool full = false;

 private:
  static Error Full(std::string_view what) {
    return Error(ErrorCode::kSystem, std::string("sqlite ") + std::string(what) + ": database or disk is full");
  }
  std::unique_ptr<SqliteStore> real_;
};

TEST_F(RegistryTest, ADeleteTheStoreRefusesKeepsTheFunctionAndSaysWhy) {
  {
    auto sqlite = SqliteStore::Open(dir_ / "lambent.db");
    ASSERT_TRUE(sqlite);
    auto store = std::make_unique<FullDiskStore>(std::move(*sqlite));
    FullDiskStore* disk = store.get();
    Registry registry(std::move(store));
    ASSERT_TRUE(registry.Load());
    ASSERT_TRUE(registry.Create(Hello()));
    disk->full = true;
    auto deleted = registry.Delete("hello");
    ASSERT_FALSE(deleted);
    EXPECT_EQ(deleted.error().code(), ErrorCode::kSystem);
    EXPECT_NE(deleted.error().message().find("disk is full"), std::string::npos);
    EXPECT_TRUE(registry.Find("hello"));
  }
  EXPECT_TRUE(OpenRegistry()->Find("hello"));
}

// A store whose writes wait until the test lets them go: a slow disk, or a long fsync.
class StalledStore : public Store {
 public:
  Result<void> Put(const FunctionConfig&) override {
    std::unique_lock lock(mutex);
    writing = true;
    changed.notify_all();
    changed.wait(lock, [this] { return released; });
    return Ok();
  }
  Result<void> DeleteFunction(const std::string&) override { return Ok(); }
  Result<std::vector<FunctionConfig>> LoadAll() override { return std::vector<FunctionConfig>{}; }

  std::mutex mutex;
  std::condition_variable changed;
  bool writing = false;   // GUARDED_BY(mutex)
  bool released = false;  // GUARDED_BY(mutex)
};

TEST_F(RegistryTest, LookupsDoNotWaitForAStoreWriteAndSeeTheChangeOnlyOnceItIsStored) {
  auto owned = std::make_unique<StalledStore>();
  StalledStore* store = owned.get();
  Registry registry(std::move(owned));
  ASSERT_TRUE(registry.Load());
  {
    std::lock_guard lock(store->mutex);
    store->released = true;
  }
  ASSERT_TRUE(registry.Create(Hello()));
  std::string before = registry.Find("hello")->revision_id;
  {
    std::lock_guard lock(store->mutex);
    store->released = false;
    store->writing = false;
  }
  std::thread update([&] {
    ASSERT_TRUE(registry.Update("hello", "", [](FunctionConfig& c) {
      c.memory_mb = 512;
      return Ok();
    }));
  });
  {
    std::unique_lock lock(store->mutex);
    store->changed.wait(lock, [&] { return store->writing; });
  }
  // The write is stalled: a lookup answers at once, with the configuration the store has.
  auto seen = registry.Find("hello");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->revision_id, before);
  EXPECT_EQ(registry.List().size(), 1u);
  {
    std::lock_guard lock(store->mutex);
    store->released = true;
  }
  store->changed.notify_all();
  update.join();
  EXPECT_EQ(registry.Find("hello")->memory_mb, 512);
  EXPECT_NE(registry.Find("hello")->revision_id, before);
}

TEST(FunctionName, FollowsLambdasNamingRule) {
  EXPECT_TRUE(IsValidFunctionName("hello-World_1"));
  EXPECT_FALSE(IsValidFunctionName(""));
  EXPECT_FALSE(IsValidFunctionName("has space"));
  EXPECT_FALSE(IsValidFunctionName("dot.name"));
  EXPECT_FALSE(IsValidFunctionName(std::string(65, 'a')));
}

}  // namespace
}  // namespace lambent::registry
