#include "registry/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "registry/test_fixture.h"

namespace lambent::registry {
namespace {

class SqliteStoreTest : public StoreDirTest {
 protected:
  // Runs `sql` on the database file beside the store, as another writer (or an older
  // lambent) would.
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "lambent.db").c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
  }
};

// What an older lambent wrote: only function_versions, the tags inside the $LATEST row.
TEST_F(SqliteStoreTest, ADatabaseFromBeforeSettingsLoadsWithItsTagsAndVersionCounter) {
  FunctionConfig config = Hello();
  config.tags = {{"team", "a"}};
  config.revision_id = "rev-1";
  std::string latest = ToStorageJson(config).dump();
  config.version = "3";
  std::string three = ToStorageJson(config).dump();
  Exec(
      "CREATE TABLE function_versions (name TEXT NOT NULL, version TEXT NOT NULL,"
      " config TEXT NOT NULL, PRIMARY KEY (name, version));"
      "INSERT INTO function_versions VALUES ('hello', '$LATEST', '" +
      latest +
      "');"
      "INSERT INTO function_versions VALUES ('hello', '3', '" +
      three + "');");

  auto store = SqliteStore::Open(dir_ / "lambent.db");
  ASSERT_TRUE(store) << store.error().message();
  auto state = (*store)->LoadAll();
  ASSERT_TRUE(state) << state.error().message();
  ASSERT_EQ(state->versions.size(), 2u);
  EXPECT_EQ(state->versions[0].revision_id, "rev-1");
  EXPECT_TRUE(state->aliases.empty());
  ASSERT_EQ(state->settings.size(), 1u);
  EXPECT_EQ(state->settings.at("hello").tags, (std::map<std::string, std::string>{{"team", "a"}}));
  EXPECT_EQ(state->settings.at("hello").last_version, 3);

  // Once settings have a row of their own, they win over the old row's tags.
  StoreChanges changes;
  changes.put_settings.emplace_back("hello", FunctionSettings{4, {}, std::nullopt, {}});
  ASSERT_TRUE((*store)->Apply(changes));
  state = (*store)->LoadAll();
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->settings.at("hello").tags.empty());
  EXPECT_EQ(state->settings.at("hello").last_version, 4);
}

TEST_F(SqliteStoreTest, AChangeIsAppliedWholeOrNotAtAll) {
  auto store = SqliteStore::Open(dir_ / "lambent.db");
  ASSERT_TRUE(store);
  // A constraint that fails the change's last row, after its first rows were written.
  Exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON function_settings "
      "WHEN NEW.name = 'doomed' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  FunctionConfig config = Hello();
  config.name = "doomed";
  Alias alias{.function = "doomed", .name = "live", .version = "1"};
  StoreChanges changes;
  changes.put_versions.push_back(config);
  changes.put_aliases.push_back(alias);
  changes.put_settings.emplace_back("doomed", FunctionSettings{});
  auto applied = (*store)->Apply(changes);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code(), ErrorCode::kSystem);
  EXPECT_NE(applied.error().message().find("refused"), std::string::npos);
  auto state = (*store)->LoadAll();
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->versions.empty());
  EXPECT_TRUE(state->aliases.empty());
  EXPECT_TRUE(state->settings.empty());

  // The connection is usable again: the failed transaction is gone.
  config.name = "fine";
  StoreChanges next;
  next.put_versions.push_back(config);
  next.put_settings.emplace_back("fine", FunctionSettings{3, {}, 2, {}});
  ASSERT_TRUE((*store)->Apply(next));
  state = (*store)->LoadAll();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->versions.size(), 1u);
  EXPECT_EQ(state->settings.at("fine").last_version, 3);
  EXPECT_EQ(state->settings.at("fine").reserved_concurrency, 2);
}

TEST_F(SqliteStoreTest, DeletingAFunctionRemovesItsRowsFromEveryTable) {
  auto store = SqliteStore::Open(dir_ / "lambent.db");
  ASSERT_TRUE(store);
  FunctionConfig hello = Hello();
  FunctionConfig one = Hello();
  one.version = "1";
  FunctionConfig other = Hello();
  other.name = "other";
  Alias alias{.function = "hello", .name = "live", .version = "1"};
  StoreChanges changes;
  changes.put_versions = {hello, one, other};
  changes.put_aliases = {alias};
  changes.put_settings = {{"hello", FunctionSettings{1, {}, 5, {}}}, {"other", FunctionSettings{}}};
  ASSERT_TRUE((*store)->Apply(changes));
  StoreChanges gone;
  gone.delete_functions = {"hello"};
  ASSERT_TRUE((*store)->Apply(gone));
  auto state = (*store)->LoadAll();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->versions.size(), 1u);
  EXPECT_EQ(state->versions[0].name, "other");
  EXPECT_TRUE(state->aliases.empty());
  EXPECT_EQ(state->settings.size(), 1u);
  EXPECT_TRUE(state->settings.contains("other"));
}

// LoggingConfig lives inside the stored document: a row from before it loads as Text with
// the default group, and a JSON one round-trips.
TEST(StorageJson, LoggingConfigRoundTripsAndDefaultsForOlderRows) {
  auto old = FromStorageJson(nlohmann::json{{"name", "fn"}});
  ASSERT_TRUE(old);
  EXPECT_EQ(old->logging, LoggingConfig{});
  EXPECT_FALSE(old->logging.json());
  EXPECT_EQ(LogGroupOf(*old), "/aws/lambda/fn");

  FunctionConfig config;
  config.name = "fn";
  config.logging = {"JSON", "DEBUG", "WARN", "/shared/group"};
  auto back = FromStorageJson(ToStorageJson(config));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->logging, config.logging);
  EXPECT_EQ(LogGroupOf(*back), "/shared/group");
}

TEST(StorageJson, RoundTripsAliasesAndSettings) {
  Alias alias{"fn", "live", "3", "desc", "4", 0.125, "rev"};
  auto back = AliasFromStorageJson(ToStorageJson(alias));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->function, "fn");
  EXPECT_EQ(back->name, "live");
  EXPECT_EQ(back->version, "3");
  EXPECT_EQ(back->description, "desc");
  EXPECT_EQ(back->additional_version, "4");
  EXPECT_EQ(back->additional_weight, 0.125);
  EXPECT_EQ(back->revision_id, "rev");

  FunctionSettings settings;
  settings.last_version = 7;
  settings.tags = {{"a", "b"}};
  settings.reserved_concurrency = 0;
  settings.provisioned["live"] = ProvisionedConfig{4, 99};
  auto again = SettingsFromStorageJson(ToStorageJson(settings));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->last_version, 7);
  EXPECT_EQ(again->tags, settings.tags);
  ASSERT_TRUE(again->reserved_concurrency);
  EXPECT_EQ(*again->reserved_concurrency, 0);
  EXPECT_EQ(again->provisioned.at("live").requested, 4);
  EXPECT_EQ(again->provisioned.at("live").last_modified_ms, 99);

  // Missing fields take their defaults; a wrong type is an error, not a crash.
  auto sparse = SettingsFromStorageJson(nlohmann::json::object());
  ASSERT_TRUE(sparse);
  EXPECT_EQ(sparse->last_version, 0);
  EXPECT_FALSE(sparse->reserved_concurrency);
  EXPECT_TRUE(AliasFromStorageJson(nlohmann::json{{"function", "f"}, {"name", "a"}}));
  EXPECT_FALSE(AliasFromStorageJson(nlohmann::json{{"name", "a"}}));
  EXPECT_FALSE(SettingsFromStorageJson(nlohmann::json{{"last_version", "x"}}));
  EXPECT_FALSE(SettingsFromStorageJson(nlohmann::json::array()));
}

}  // namespace
}  // namespace lambent::registry
