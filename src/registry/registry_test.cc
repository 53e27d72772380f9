#include "registry/registry.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "registry/test_fixture.h"

namespace lambent::registry {
namespace {

// A SqliteStore on a disk that can fill up: once `full` is set, writes fail as SQLite reports
// SQLITE_FULL.
class FullDiskStore : public Store {
 public:
  explicit FullDiskStore(std::unique_ptr<SqliteStore> real) : real_(std::move(real)) {}
  Result<void> Apply(const StoreChanges& changes) override {
    if (full) return tl::unexpected(Full("apply"));
    return real_->Apply(changes);
  }
  Result<StoredState> LoadAll() override { return real_->LoadAll(); }

  bool full = false;

 private:
  static Error Full(std::string_view what) {
    return Error(ErrorCode::kSystem,
                 std::string("sqlite ") + std::string(what) + ": database or disk is full");
  }
  std::unique_ptr<SqliteStore> real_;
};

class RegistryTest : public StoreDirTest {
 protected:
  std::unique_ptr<Registry> OpenRegistry() { return Loaded(OpenStore()); }

  // OpenRegistry on a disk the test fills through `disk`, which the registry owns.
  std::unique_ptr<Registry> OpenRegistryOnFullableDisk(FullDiskStore*& disk) {
    auto store = std::make_unique<FullDiskStore>(OpenStore());
    disk = store.get();
    return Loaded(std::move(store));
  }

 private:
  std::unique_ptr<SqliteStore> OpenStore() {
    auto store = SqliteStore::Open(dir_ / "lambent.db");
    EXPECT_TRUE(store) << store.error().message();
    return std::move(*store);
  }
  static std::unique_ptr<Registry> Loaded(std::unique_ptr<Store> store) {
    auto registry = std::make_unique<Registry>(std::move(store));
    EXPECT_TRUE(registry->Load());
    return registry;
  }
};

// Publishes `name` after changing its timeout, so each call has something new to publish.
ConfigPtr PublishChanged(Registry& registry, const std::string& name, int timeout_s) {
  auto updated = registry.Update(name, "", [&](FunctionConfig& c) {
    c.timeout_s = timeout_s;
    return Ok();
  });
  EXPECT_TRUE(updated);
  auto published = registry.Publish(name, "", "", "");
  EXPECT_TRUE(published) << published.error().message();
  return published ? *published : nullptr;
}

// Creates "hello" with published versions 1..count, version n with a timeout of 3 + n seconds.
bool CreateHelloWithVersions(Registry& registry, int count) {
  if (!registry.Create(Hello())) return false;
  for (int n = 1; n <= count; ++n) {
    if (!PublishChanged(registry, "hello", 3 + n)) return false;
  }
  return true;
}

std::vector<std::string> VersionNames(const Registry& registry, const std::string& name) {
  std::vector<std::string> out;
  auto versions = registry.Versions(name);
  EXPECT_TRUE(versions);
  if (versions) {
    for (const auto& version : *versions) out.push_back(version->version);
  }
  return out;
}

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
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
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

TEST_F(RegistryTest, ADeleteTheStoreRefusesKeepsTheFunctionAndSaysWhy) {
  {
    FullDiskStore* disk = nullptr;
    auto registry = OpenRegistryOnFullableDisk(disk);
    ASSERT_TRUE(registry->Create(Hello()));
    disk->full = true;
    auto deleted = registry->Delete("hello");
    ASSERT_FALSE(deleted);
    EXPECT_EQ(deleted.error().code(), ErrorCode::kSystem);
    EXPECT_NE(deleted.error().message().find("disk is full"), std::string::npos);
    EXPECT_TRUE(registry->Find("hello"));
  }
  EXPECT_TRUE(OpenRegistry()->Find("hello"));
}

TEST_F(RegistryTest, EveryChangeTheStoreRefusesLeavesMemoryAsItWas) {
  FullDiskStore* disk = nullptr;
  auto registry = OpenRegistryOnFullableDisk(disk);
  ASSERT_TRUE(registry->Create(Hello(), /*publish=*/true));
  ASSERT_TRUE(registry->Update("hello", "", [](FunctionConfig& c) {
    c.timeout_s = 9;
    return Ok();
  }));
  ASSERT_TRUE(registry->Publish("hello", "", "", ""));
  Alias a{.function = "hello", .name = "live", .version = "1"};
  ASSERT_TRUE(registry->CreateAlias(a));
  ASSERT_TRUE(registry->SetProvisioned("hello", "live", ProvisionedConfig{1, 1}));
  ConfigPtr latest = registry->Find("hello");
  AliasPtr alias = registry->FindAlias("hello", "live");
  FunctionSettings settings = *registry->Settings("hello");

  disk->full = true;
  auto refused = [](const auto& result) {
    return !result && result.error().code() == ErrorCode::kSystem;
  };
  FunctionConfig other = Hello();
  other.name = "other";
  EXPECT_TRUE(refused(registry->Create(other)));
  EXPECT_TRUE(refused(registry->Update(
      "hello", "",
      [](FunctionConfig& c) {
        c.timeout_s = 10;
        return Ok();
      },
      /*publish=*/true)));
  EXPECT_TRUE(refused(registry->Update("hello", "", [](FunctionConfig& c) {
    c.timeout_s = 11;
    return Ok();
  })));
  EXPECT_TRUE(refused(registry->DeleteVersion("hello", "2")));
  a.name = "beta";
  EXPECT_TRUE(refused(registry->CreateAlias(a)));
  EXPECT_TRUE(refused(registry->UpdateAlias("hello", "live", "", [](Alias& x) {
    x.version = "2";
    return Ok();
  })));
  EXPECT_TRUE(refused(registry->DeleteAlias("hello", "live")));
  EXPECT_TRUE(refused(registry->Tag("hello", {{"a", "b"}})));
  EXPECT_TRUE(refused(registry->SetReservedConcurrency("hello", 3)));
  EXPECT_TRUE(refused(registry->SetProvisioned("hello", "2", ProvisionedConfig{1, 1})));
  EXPECT_TRUE(refused(registry->Delete("hello")));

  EXPECT_FALSE(registry->Find("other"));
  EXPECT_EQ(registry->Find("hello"), latest);
  EXPECT_EQ(registry->FindAlias("hello", "live"), alias);
  EXPECT_FALSE(registry->FindAlias("hello", "beta"));
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "1", "2"}));
  auto now = *registry->Settings("hello");
  EXPECT_EQ(now.last_version, settings.last_version);
  EXPECT_EQ(now.tags, settings.tags);
  EXPECT_FALSE(now.reserved_concurrency);
  EXPECT_EQ(now.provisioned.size(), 1u);

  // Once the disk has room again, numbering carries on where the stored state left it.
  disk->full = false;
  auto published = registry->Update(
      "hello", "",
      [](FunctionConfig& c) {
        c.timeout_s = 12;
        return Ok();
      },
      /*publish=*/true);
  ASSERT_TRUE(published);
  EXPECT_EQ((*published)->version, "3");
}

// A store whose writes wait until the test lets them go: a slow disk, or a long fsync.
class StalledStore : public Store {
 public:
  Result<void> Apply(const StoreChanges&) override {
    std::unique_lock lock(mutex);
    writing = true;
    changed.notify_all();
    changed.wait(lock, [this] { return released; });
    return Ok();
  }
  Result<StoredState> LoadAll() override { return StoredState{}; }

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

TEST_F(RegistryTest, PublishingNumbersVersionsInOrderAndSnapshotsLatest) {
  auto registry = OpenRegistry();
  FunctionConfig config = Hello();
  config.code_sha256 = "sha-a";
  ASSERT_TRUE(registry->Create(config));
  auto first = registry->Publish("hello", "", "", "first");
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ((*first)->version, "1");
  EXPECT_EQ((*first)->description, "first");
  EXPECT_EQ((*first)->code_sha256, "sha-a");
  EXPECT_NE((*first)->revision_id, registry->Find("hello")->revision_id);
  auto second = PublishChanged(*registry, "hello", 20);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->version, "2");
  EXPECT_EQ(second->timeout_s, 20);
  // A version is a snapshot: later changes to $LATEST leave it as it was.
  ASSERT_TRUE(registry->Update("hello", "", [](FunctionConfig& c) {
    c.timeout_s = 30;
    return Ok();
  }));
  EXPECT_EQ(registry->FindVersion("hello", "2")->timeout_s, 20);
  EXPECT_EQ(registry->FindVersion("hello", "1")->timeout_s, 3);
  EXPECT_EQ(registry->FindVersion("hello", "$LATEST")->timeout_s, 30);
  EXPECT_FALSE(registry->FindVersion("hello", "3"));
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "1", "2"}));
  EXPECT_EQ(registry->Settings("hello")->last_version, 2);
}

TEST_F(RegistryTest, PublishingWithNothingChangedReturnsTheNewestVersion) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(registry->Create(Hello()));
  auto first = registry->Publish("hello", "", "", "");
  ASSERT_TRUE(first);
  auto again = registry->Publish("hello", "", "", "another description");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "1"}));
  // An update that changes nothing a version holds is no reason for a new one either.
  ASSERT_TRUE(registry->Update("hello", "", [](FunctionConfig&) { return Ok(); }));
  EXPECT_EQ((*registry->Publish("hello", "", "", ""))->version, "1");
  // A changed environment is.
  ASSERT_TRUE(registry->Update("hello", "", [](FunctionConfig& c) {
    c.environment["B"] = "2";
    return Ok();
  }));
  EXPECT_EQ((*registry->Publish("hello", "", "", ""))->version, "2");
}

TEST_F(RegistryTest, VersionNumbersAreNeverReusedEvenAfterADeleteAndAReopen) {
  {
    auto registry = OpenRegistry();
    ASSERT_TRUE(CreateHelloWithVersions(*registry, 2));
    auto deleted = registry->DeleteVersion("hello", "2");
    ASSERT_TRUE(deleted) << deleted.error().message();
    EXPECT_EQ((*deleted)->version, "2");
    EXPECT_EQ(PublishChanged(*registry, "hello", 6)->version, "3");
    ASSERT_TRUE(registry->DeleteVersion("hello", "3"));
  }
  auto registry = OpenRegistry();
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "1"}));
  EXPECT_EQ(PublishChanged(*registry, "hello", 7)->version, "4");
}

TEST_F(RegistryTest, PublishHonoursItsPreconditions) {
  auto registry = OpenRegistry();
  FunctionConfig config = Hello();
  config.code_sha256 = "sha-a";
  auto created = registry->Create(config);
  ASSERT_TRUE(created);
  auto stale = registry->Publish("hello", "", "not-the-revision", "");
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
  EXPECT_NE(stale.error().message().find("does not match the latest Revision Id"),
            std::string::npos);
  // Lambda answers a CodeSha256 mismatch with InvalidParameterValueException.
  auto other_code = registry->Publish("hello", "sha-b", "", "");
  ASSERT_FALSE(other_code);
  EXPECT_EQ(other_code.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(other_code.error().message(),
            "CodeSHA256 (sha-b) is different from current CodeSHA256 in $LATEST (sha-a). Please "
            "try again with the CodeSHA256 in $LATEST.");
  EXPECT_EQ(registry->Settings("hello")->last_version, 0);
  auto published = registry->Publish("hello", "sha-a", (*created)->revision_id, "");
  ASSERT_TRUE(published);
  EXPECT_EQ((*published)->version, "1");
  EXPECT_EQ(registry->Publish("nope", "", "", "").error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, CreateAndUpdateCanPublishInTheSameStep) {
  {
    auto registry = OpenRegistry();
    FunctionConfig config = Hello();
    config.tags = {{"team", "a"}};
    auto created = registry->Create(config, /*publish=*/true);
    ASSERT_TRUE(created);
    EXPECT_EQ((*created)->version, "1");
    EXPECT_TRUE((*created)->tags.empty());
    EXPECT_EQ(registry->Settings("hello")->tags.at("team"), "a");
    auto updated = registry->Update(
        "hello", registry->Find("hello")->revision_id,
        [](FunctionConfig& c) {
          c.code_sha256 = "sha-b";
          return Ok();
        },
        /*publish=*/true);
    ASSERT_TRUE(updated);
    EXPECT_EQ((*updated)->version, "2");
    EXPECT_EQ((*updated)->code_sha256, "sha-b");
    EXPECT_EQ(registry->Find("hello")->code_sha256, "sha-b");
  }
  auto registry = OpenRegistry();
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "1", "2"}));
  EXPECT_EQ(registry->Settings("hello")->last_version, 2);
  EXPECT_EQ(registry->Settings("hello")->tags.at("team"), "a");
}

TEST_F(RegistryTest, ResolveFindsLatestVersionsAndAliases) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(CreateHelloWithVersions(*registry, 2));
  Alias live{.function = "hello",
             .name = "live",
             .version = "1",
             .additional_version = "2",
             .additional_weight = 0.25};
  auto created = registry->CreateAlias(live);
  ASSERT_TRUE(created) << created.error().message();

  EXPECT_EQ(registry->Resolve("hello", "")->config->version, "$LATEST");
  EXPECT_EQ(registry->Resolve("hello", "$LATEST")->config->version, "$LATEST");
  auto two = registry->Resolve("hello", "2");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->config->version, "2");
  EXPECT_FALSE(two->alias);
  auto primary = registry->Resolve("hello", "live", 0.25);
  ASSERT_TRUE(primary);
  EXPECT_EQ(primary->config->version, "1");
  EXPECT_EQ(primary->alias->name, "live");
  EXPECT_EQ(registry->Resolve("hello", "live", 0.1)->config->version, "2");
  EXPECT_EQ(registry->Resolve("hello", "live", 0.0)->config->version, "2");

  for (const char* missing : {"3", "0", "007", "nope"}) {
    auto result = registry->Resolve("hello", missing);
    ASSERT_FALSE(result) << missing;
    EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(result.error().message(), std::string("Function not found: hello:") + missing);
  }
  EXPECT_EQ(registry->Resolve("nope", "").error().message(), "Function not found: nope");
}

TEST_F(RegistryTest, AliasesFollowLambdasRules) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(CreateHelloWithVersions(*registry, 2));
  auto make = [](std::string name, std::string version, std::string extra = "", double w = 0) {
    return Alias{.function = "hello",
                 .name = std::move(name),
                 .version = std::move(version),
                 .additional_version = std::move(extra),
                 .additional_weight = w};
  };
  auto code_of = [&](const Alias& a) {
    auto result = registry->CreateAlias(a);
    return result ? std::optional<ErrorCode>() : std::optional(result.error().code());
  };
  EXPECT_EQ(code_of(make("123", "1")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("$LATEST", "1")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("has.dot", "1")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make(std::string(129, 'a'), "1")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("a", "9")), ErrorCode::kNotFound);
  EXPECT_EQ(code_of(make("a", "latest")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("a", "1", "1", 0.5)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("a", "1", "2", 1.5)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("a", "1", "9", 0.5)), ErrorCode::kNotFound);
  EXPECT_EQ(code_of(make("a", "$LATEST", "1", 0.5)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(make("a", "1", "$LATEST", 0.5)), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(registry->Aliases("hello")->empty());

  // As on Lambda, an alias may follow $LATEST (without routing).
  EXPECT_EQ(code_of(make("dev", "$LATEST")), std::nullopt);
  EXPECT_EQ(registry->Resolve("hello", "dev")->config->version, "$LATEST");
  EXPECT_EQ(code_of(make(std::string(128, 'b'), "2")), std::nullopt);
  EXPECT_EQ(code_of(make("1a", "2")), std::nullopt);
  auto again = registry->CreateAlias(make("dev", "1"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(again.error().message(), "Alias already exists: hello:dev");

  auto aliases = registry->Aliases("hello");
  ASSERT_TRUE(aliases);
  ASSERT_EQ(aliases->size(), 3u);
  EXPECT_EQ((*aliases)[0]->name, "1a");
  EXPECT_EQ((*aliases)[2]->name, "dev");
  EXPECT_EQ(registry->Aliases("nope").error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, AnAliasUpdateChecksItsRevisionAndGetsANewOne) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(CreateHelloWithVersions(*registry, 2));
  Alias live{.function = "hello", .name = "live", .version = "1"};
  auto created = registry->CreateAlias(live);
  ASSERT_TRUE(created);
  std::string first_revision = (*created)->revision_id;
  EXPECT_FALSE(first_revision.empty());

  auto updated = registry->UpdateAlias("hello", "live", first_revision, [](Alias& a) {
    a.version = "2";
    a.additional_version = "1";
    a.additional_weight = 0.1;
    return Ok();
  });
  ASSERT_TRUE(updated) << updated.error().message();
  EXPECT_NE((*updated)->revision_id, first_revision);
  EXPECT_EQ(registry->Resolve("hello", "live", 0.5)->config->version, "2");
  EXPECT_EQ(registry->Resolve("hello", "live", 0.05)->config->version, "1");

  auto stale = registry->UpdateAlias("hello", "live", first_revision, [](Alias&) { return Ok(); });
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
  auto invalid = registry->UpdateAlias("hello", "live", "", [](Alias& a) {
    a.version = "7";
    return Ok();
  });
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(registry->FindAlias("hello", "live")->version, "2");
  EXPECT_EQ(registry->UpdateAlias("hello", "nope", "", [](Alias&) { return Ok(); }).error().code(),
            ErrorCode::kNotFound);

  auto stale_delete = registry->DeleteAlias("hello", "live", first_revision);
  ASSERT_FALSE(stale_delete);
  EXPECT_EQ(stale_delete.error().code(), ErrorCode::kPreconditionFailed);
  ASSERT_TRUE(registry->DeleteAlias("hello", "live", (*updated)->revision_id));
  EXPECT_FALSE(registry->FindAlias("hello", "live"));
  EXPECT_EQ(registry->DeleteAlias("hello", "live").error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, AVersionAnAliasRoutesToCannotBeDeleted) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(CreateHelloWithVersions(*registry, 3));
  Alias a{.function = "hello",
          .name = "live",
          .version = "1",
          .additional_version = "2",
          .additional_weight = 0.5};
  ASSERT_TRUE(registry->CreateAlias(a));
  a.name = "beta";
  a.additional_version.clear();
  ASSERT_TRUE(registry->CreateAlias(a));

  auto primary = registry->DeleteVersion("hello", "1");
  ASSERT_FALSE(primary);
  EXPECT_EQ(primary.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(primary.error().message(),
            "Unable to delete version because the following aliases reference it: [beta, live]");
  auto routed = registry->DeleteVersion("hello", "2");
  ASSERT_FALSE(routed);
  EXPECT_EQ(routed.error().message(),
            "Unable to delete version because the following aliases reference it: [live]");
  EXPECT_EQ(registry->DeleteVersion("hello", "$LATEST").error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->DeleteVersion("hello", "").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->DeleteVersion("hello", "9").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(registry->DeleteVersion("hello", "live").error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(registry->SetProvisioned("hello", "3", ProvisionedConfig{2, 1}));
  EXPECT_EQ(registry->DeleteVersion("hello", "3").error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(registry->SetProvisioned("hello", "3", std::nullopt));
  EXPECT_TRUE(registry->DeleteVersion("hello", "3"));
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "1", "2"}));
}

TEST_F(RegistryTest, DeletingAFunctionRemovesEverythingItHad) {
  {
    auto registry = OpenRegistry();
    ASSERT_TRUE(registry->Create(Hello(), /*publish=*/true));
    ASSERT_TRUE(PublishChanged(*registry, "hello", 4));
    Alias a{.function = "hello", .name = "live", .version = "2"};
    ASSERT_TRUE(registry->CreateAlias(a));
    ASSERT_TRUE(registry->SetReservedConcurrency("hello", 5));
    auto deleted = registry->Delete("hello");
    ASSERT_TRUE(deleted);
    ASSERT_EQ(deleted->size(), 3u);
    EXPECT_EQ((*deleted)[0]->version, "$LATEST");
    EXPECT_EQ((*deleted)[2]->version, "2");
    EXPECT_FALSE(registry->Settings("hello"));
    EXPECT_FALSE(registry->FindVersion("hello", "1"));
    // A new function of the same name starts from nothing, numbering included.
    ASSERT_TRUE(registry->Create(Hello()));
  }
  auto registry = OpenRegistry();
  EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST"}));
  EXPECT_TRUE(registry->Aliases("hello")->empty());
  EXPECT_FALSE(registry->Settings("hello")->reserved_concurrency);
  EXPECT_EQ((*registry->Publish("hello", "", "", ""))->version, "1");
}

TEST_F(RegistryTest, TagsFollowLambdasLimits) {
  auto registry = OpenRegistry();
  FunctionConfig reserved = Hello();
  reserved.tags = {{"aws:cloudformation:stack", "x"}};
  EXPECT_EQ(registry->Create(reserved).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(registry->Find("hello"));
  ASSERT_TRUE(registry->Create(Hello()));

  std::map<std::string, std::string> fifty;
  for (int i = 0; i < 50; ++i) fifty["k" + std::to_string(i)] = "v";
  ASSERT_TRUE(registry->Tag("hello", fifty));
  auto over = registry->Tag("hello", {{"one-more", "v"}});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->Settings("hello")->tags.size(), 50u);
  // Replacing a key keeps the count.
  ASSERT_TRUE(registry->Tag("hello", {{"k0", "changed"}}));
  ASSERT_TRUE(registry->Untag("hello", {"k1", "k2", "not-there"}));
  EXPECT_EQ(registry->Settings("hello")->tags.size(), 48u);
  EXPECT_EQ(registry->Settings("hello")->tags.at("k0"), "changed");

  for (const auto& bad :
       std::vector<std::map<std::string, std::string>>{{{"", "v"}},
                                                       {{std::string(129, 'k'), "v"}},
                                                       {{"AWS:x", "v"}},
                                                       {{"k", std::string(257, 'v')}}}) {
    auto result = registry->Tag("hello", bad);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
  }
  // Limits count characters: 128 three-byte characters are a valid key.
  std::string long_key;
  for (int i = 0; i < 128; ++i) long_key += "\xe2\x82\xac";
  EXPECT_TRUE(registry->Tag("hello", {{long_key, std::string(256, 'v')}}));
  EXPECT_EQ(registry->Tag("nope", {{"a", "b"}}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(registry->Untag("nope", {"a"}).error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, SettingsSurviveAReopen) {
  {
    auto registry = OpenRegistry();
    FunctionConfig config = Hello();
    config.tags = {{"team", "a"}};
    ASSERT_TRUE(registry->Create(config, /*publish=*/true));
    Alias a{.function = "hello", .name = "live", .version = "1", .description = "production"};
    ASSERT_TRUE(registry->CreateAlias(a));
    ASSERT_TRUE(registry->SetReservedConcurrency("hello", 0));
    ASSERT_TRUE(registry->SetProvisioned("hello", "live", ProvisionedConfig{3, 1234}));
    ASSERT_TRUE(registry->Tag("hello", {{"env", "prod"}}));
  }
  auto registry = OpenRegistry();
  auto settings = registry->Settings("hello");
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->last_version, 1);
  EXPECT_EQ(settings->tags, (std::map<std::string, std::string>{{"env", "prod"}, {"team", "a"}}));
  ASSERT_TRUE(settings->reserved_concurrency);
  EXPECT_EQ(*settings->reserved_concurrency, 0);
  ASSERT_EQ(settings->provisioned.size(), 1u);
  EXPECT_EQ(settings->provisioned.at("live").requested, 3);
  EXPECT_EQ(settings->provisioned.at("live").last_modified_ms, 1234);
  auto alias = registry->FindAlias("hello", "live");
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->version, "1");
  EXPECT_EQ(alias->description, "production");
  EXPECT_FALSE(alias->revision_id.empty());
  EXPECT_EQ(registry->AllSettings().size(), 1u);

  ASSERT_TRUE(registry->SetReservedConcurrency("hello", std::nullopt));
  EXPECT_FALSE(registry->Settings("hello")->reserved_concurrency);
  EXPECT_EQ(registry->SetReservedConcurrency("hello", -1).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->SetReservedConcurrency("nope", 1).error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, ProvisionedConcurrencyNeedsAPublishedVersionOrAnAliasOfOne) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(registry->Create(Hello(), /*publish=*/true));
  ASSERT_TRUE(PublishChanged(*registry, "hello", 4));
  Alias a{.function = "hello", .name = "dev", .version = "$LATEST"};
  ASSERT_TRUE(registry->CreateAlias(a));
  a.name = "canary";
  a.version = "1";
  a.additional_version = "2";
  a.additional_weight = 0.1;
  ASSERT_TRUE(registry->CreateAlias(a));
  a.name = "live";
  a.additional_version.clear();
  ASSERT_TRUE(registry->CreateAlias(a));

  ProvisionedConfig three{3, 1};
  auto latest = registry->SetProvisioned("hello", "$LATEST", three);
  ASSERT_FALSE(latest);
  EXPECT_EQ(latest.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(latest.error().message(),
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
  EXPECT_EQ(registry->SetProvisioned("hello", "dev", three).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->SetProvisioned("hello", "canary", three).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->SetProvisioned("hello", "9", three).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(registry->SetProvisioned("hello", "nope", three).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(registry->SetProvisioned("nope", "1", three).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(registry->SetProvisioned("hello", "1", ProvisionedConfig{0, 1}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry->SetProvisioned("hello", "1", std::nullopt).error().code(),
            ErrorCode::kNotFound);

  ASSERT_TRUE(registry->SetProvisioned("hello", "live", three));
  // Version 1 is provisioned through "live" already.
  EXPECT_EQ(registry->SetProvisioned("hello", "1", three).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(registry->SetProvisioned("hello", "2", three));
  ASSERT_TRUE(registry->SetProvisioned("hello", "live", ProvisionedConfig{5, 2}));
  EXPECT_EQ(registry->Settings("hello")->provisioned.at("live").requested, 5);

  // An alias with provisioned concurrency keeps a single published version.
  EXPECT_EQ(registry
                ->UpdateAlias("hello", "live", "",
                              [](Alias& alias) {
                                alias.additional_version = "2";
                                alias.additional_weight = 0.5;
                                return Ok();
                              })
                .error()
                .code(),
            ErrorCode::kInvalidArgument);
  // Deleting the alias takes its provisioned concurrency with it.
  ASSERT_TRUE(registry->DeleteAlias("hello", "live"));
  auto provisioned = registry->Settings("hello")->provisioned;
  EXPECT_EQ(provisioned.size(), 1u);
  EXPECT_TRUE(provisioned.contains("2"));
}

// What an older lambent left: version rows only, the tags inside the $LATEST row.
TEST_F(RegistryTest, FunctionsStoredBeforeSettingsExistedLoadWithTheirTagsAndNumbering) {
  {
    auto store = SqliteStore::Open(dir_ / "lambent.db");
    ASSERT_TRUE(store);
    FunctionConfig config = Hello();
    config.tags = {{"team", "a"}};
    config.revision_id = "rev-1";
    StoreChanges changes;
    changes.put_versions.push_back(config);
    config.version = "3";
    changes.put_versions.push_back(config);
    ASSERT_TRUE((*store)->Apply(changes));
  }
  {
    auto registry = OpenRegistry();
    auto found = registry->Find("hello");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->revision_id, "rev-1");
    EXPECT_EQ(registry->Settings("hello")->tags,
              (std::map<std::string, std::string>{{"team", "a"}}));
    EXPECT_EQ(VersionNames(*registry, "hello"), (std::vector<std::string>{"$LATEST", "3"}));
    EXPECT_EQ(PublishChanged(*registry, "hello", 9)->version, "4");
    ASSERT_TRUE(registry->Untag("hello", {"team"}));
  }
  auto registry = OpenRegistry();
  EXPECT_TRUE(registry->Settings("hello")->tags.empty());
  EXPECT_EQ(registry->Settings("hello")->last_version, 4);
}

TEST(FunctionName, FollowsLambdasNamingRule) {
  EXPECT_TRUE(IsValidFunctionName("hello-World_1"));
  EXPECT_FALSE(IsValidFunctionName(""));
  EXPECT_FALSE(IsValidFunctionName("has space"));
  EXPECT_FALSE(IsValidFunctionName("dot.name"));
  EXPECT_FALSE(IsValidFunctionName(std::string(65, 'a')));
}

TEST_F(RegistryTest, EventInvokeConfigsSurviveAReopenAndGoWithTheirAliasOrVersion) {
  {
    auto registry = OpenRegistry();
    ASSERT_TRUE(CreateHelloWithVersions(*registry, 2));
    ASSERT_TRUE(registry->CreateAlias(Alias{.function = "hello", .name = "live", .version = "1"}));
    auto set = [&](const std::string& qualifier, int retries) {
      return registry->ChangeEventInvokeConfig("hello", qualifier, false, [&](EventInvokeConfig& c) {
        c.max_retry_attempts = retries;
        c.on_failure = "arn:aws:sqs:us-east-1:000000000000:dlq";
        return Ok();
      });
    };
    ASSERT_TRUE(set("", 0));
    ASSERT_TRUE(set("2", 1));
    ASSERT_TRUE(set("live", 2));
    EXPECT_EQ(set("7", 1).error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(set("nope", 1).error().code(), ErrorCode::kNotFound);
  }
  auto registry = OpenRegistry();
  auto latest = registry->FindEventInvokeConfig("hello", "$LATEST");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->max_retry_attempts, 0);
  EXPECT_EQ(latest->on_failure, "arn:aws:sqs:us-east-1:000000000000:dlq");
  EXPECT_GT(latest->last_modified_ms, 0);
  EXPECT_FALSE(latest->max_event_age_s);
  EXPECT_EQ(registry->FindEventInvokeConfig("hello", "live")->max_retry_attempts, 2);

  // Update merges: a field it does not set stays.
  auto merged = registry->ChangeEventInvokeConfig("hello", "live", true, [](EventInvokeConfig& c) {
    c.max_event_age_s = 60;
    return Ok();
  });
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->max_retry_attempts, 2);
  EXPECT_EQ(merged->max_event_age_s, 60);
  EXPECT_EQ(registry->ChangeEventInvokeConfig("hello", "1", true, [](EventInvokeConfig&) {
              return Ok();
            }).error().code(),
            ErrorCode::kNotFound);

  ASSERT_TRUE(registry->DeleteAlias("hello", "live"));
  ASSERT_TRUE(registry->DeleteVersion("hello", "2"));
  EXPECT_FALSE(registry->FindEventInvokeConfig("hello", "live"));
  EXPECT_FALSE(registry->FindEventInvokeConfig("hello", "2"));
  ASSERT_TRUE(registry->DeleteEventInvokeConfig("hello", ""));
  EXPECT_FALSE(registry->FindEventInvokeConfig("hello", "$LATEST"));
  EXPECT_EQ(registry->DeleteEventInvokeConfig("hello", "").error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, ADeadLetterTargetIsPartOfThePublishedVersion) {
  auto registry = OpenRegistry();
  ASSERT_TRUE(registry->Create(Hello()));
  ASSERT_TRUE(registry->Update("hello", "", [](FunctionConfig& c) {
    c.dead_letter_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    return Ok();
  }));
  auto version = registry->Publish("hello", "", "", "");
  ASSERT_TRUE(version);
  EXPECT_EQ((*version)->dead_letter_arn, "arn:aws:sqs:us-east-1:000000000000:dlq");
  // Only the target changed since: a new version, not the same one.
  ASSERT_TRUE(registry->Update("hello", "", [](FunctionConfig& c) {
    c.dead_letter_arn.clear();
    return Ok();
  }));
  auto second = registry->Publish("hello", "", "", "");
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)->version, "2");
  EXPECT_EQ(OpenRegistry()->FindVersion("hello", "1")->dead_letter_arn,
            "arn:aws:sqs:us-east-1:000000000000:dlq");
}

}  // namespace
}  // namespace lambent::registry
