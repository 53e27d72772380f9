#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "async/sqlite_queue_engine.h"
#include "base/encoding.h"
#include "esm/mapping.h"
#include "esm/mapping_manager.h"
#include "esm/mapping_store.h"
#include "esm/sqs_event.h"
#include "registry/registry.h"
#include "registry/sqlite_store.h"
#include "registry/test_fixture.h"
#include "sqs/sqs_message.h"

namespace lambent::esm {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

Result<MappingRequest> Parse(std::string_view body, bool create = true) {
  return ParseMappingRequest(json::parse(body), create);
}

std::string ErrorOf(std::string_view body, bool create = true) {
  auto parsed = Parse(body, create);
  if (!parsed) return parsed.error().message();
  MappingConfig config;
  auto applied = ApplyRequest(*parsed, config);
  return applied ? "" : applied.error().message();
}

TEST(MappingRequest, TakesLambdasDefaultsForAnSqsSource) {
  auto parsed = Parse(R"({"FunctionName":"f","EventSourceArn":"arn:aws:sqs:us-east-1:1:q"})");
  ASSERT_TRUE(parsed) << parsed.error().message();
  MappingConfig config;
  ASSERT_TRUE(ApplyRequest(*parsed, config));
  EXPECT_EQ(config.batch_size, 10);
  EXPECT_EQ(config.batching_window_s, 0);
  EXPECT_TRUE(config.enabled);
  EXPECT_FALSE(config.report_item_failures);
  EXPECT_EQ(config.maximum_concurrency, 0);
}

TEST(MappingRequest, RefusesWhatLambdaRefusesForAnSqsSource) {
  const std::string base = R"("FunctionName":"f","EventSourceArn":"arn:aws:sqs:us-east-1:1:q")";
  EXPECT_NE(ErrorOf("{" + base + R"(,"BatchSize":0})").find("greater than or equal to 1"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{" + base + R"(,"BatchSize":10001})").find("less than or equal to 10000"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("{" + base + R"(,"BatchSize":11})"),
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10");
  EXPECT_EQ(ErrorOf("{" + base + R"(,"BatchSize":11,"MaximumBatchingWindowInSeconds":1})"), "");
  EXPECT_NE(ErrorOf("{" + base + R"(,"MaximumBatchingWindowInSeconds":301})"), "");
  EXPECT_NE(ErrorOf("{" + base + R"(,"BatchSize":"10"})").find("must be an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{" + base + R"(,"FunctionResponseTypes":["Nope"]})").find("enum value set"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{" + base + R"(,"ScalingConfig":{"MaximumConcurrency":1}})")
                .find("'scalingConfig.maximumConcurrency'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{" + base + R"(,"ScalingConfig":{"MaximumConcurrency":1001}})"), "");
  EXPECT_EQ(ErrorOf("{" + base + R"(,"StartingPosition":"LATEST"})"),
            "Unsupported StartingPosition parameter for given event source mapping type.");
  EXPECT_EQ(ErrorOf("{" + base + R"(,"FilterCriteria":{"Filters":[{"Pattern":"nope"}]}})"),
            "Invalid filter pattern definition.");
  EXPECT_EQ(ErrorOf("{" + base + R"(,"FilterCriteria":{"Filters":[{}]}})"),
            "Invalid filter pattern definition.");
  EXPECT_EQ(ErrorOf("{" + base + R"(,"FilterCriteria":{"Filters":[]}})"), "");
  EXPECT_EQ(ErrorOf("{" + base + R"(,"FilterCriteria":{"Filters":[{"Pattern":"{\"body\":{\"a\":[1]}}"}]}})"), "");
  EXPECT_NE(ErrorOf(R"({"EventSourceArn":"arn:aws:sqs:us-east-1:1:q"})")
                .find("Value null at 'functionName'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"UUID":"x","EventSourceArn":"arn:aws:sqs:us-east-1:1:q"})", false), "");
}

TEST(MappingRequest, AFifoQueueTakesBatchesOfTenWithoutAWindow) {
  MappingConfig config;
  config.queue = "orders.fifo";
  auto parsed = Parse(R"({"FunctionName":"f","EventSourceArn":"a","BatchSize":10})");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(ApplyRequest(*parsed, config));
  parsed = Parse(R"({"FunctionName":"f","EventSourceArn":"a","BatchSize":11,"MaximumBatchingWindowInSeconds":1})");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(ApplyRequest(*parsed, config));
  config.batch_size = 10;
  parsed = Parse(R"({"MaximumBatchingWindowInSeconds":1})", false);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(ApplyRequest(*parsed, config));
}

TEST(MappingRequest, AnUpdateChangesOnlyWhatItNames) {
  MappingConfig config;
  config.batch_size = 50;
  config.batching_window_s = 5;
  config.maximum_concurrency = 7;
  auto parsed = Parse(R"({"Enabled":false,"FunctionResponseTypes":["ReportBatchItemFailures"]})", false);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(ApplyRequest(*parsed, config));
  EXPECT_FALSE(config.enabled);
  EXPECT_TRUE(config.report_item_failures);
  EXPECT_EQ(config.batch_size, 50);
  EXPECT_EQ(config.maximum_concurrency, 7);
  // An empty ScalingConfig removes it; an empty list removes the response type.
  parsed = Parse(R"({"ScalingConfig":{},"FunctionResponseTypes":[]})", false);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(ApplyRequest(*parsed, config));
  EXPECT_EQ(config.maximum_concurrency, 0);
  EXPECT_FALSE(config.report_item_failures);
  // A batch over 10 needs its window whichever request set which.
  parsed = Parse(R"({"MaximumBatchingWindowInSeconds":0})", false);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(ApplyRequest(*parsed, config));
}

TEST(Mapping, SurvivesItsStorageDocument) {
  Mapping mapping{"u-1", {"f", "live", "q", 100, 3, true, 20, false}, 1700000000123};
  auto back = Mapping::FromStorage(mapping.ToStorage());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->uuid, "u-1");
  EXPECT_EQ(back->config, mapping.config);
  EXPECT_EQ(back->last_modified_ms, 1700000000123);
  EXPECT_FALSE(Mapping::FromStorage("{}"));
  EXPECT_FALSE(Mapping::FromStorage("not json"));
}

TEST(Mapping, ShowsLambdasConfigurationDocument) {
  MappingStatus status{{"u-1", {"f", "live", "q", 10, 0, true, 5, true}, 1700000000123},
                       State::kCreating, ""};
  json doc = MappingJson(status, "us-east-1", "000000000000");
  EXPECT_EQ(doc["UUID"], "u-1");
  EXPECT_EQ(doc["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:f:live");
  EXPECT_EQ(doc["EventSourceArn"], "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ(doc["State"], "Creating");
  EXPECT_EQ(doc["StateTransitionReason"], "USER_INITIATED");
  EXPECT_DOUBLE_EQ(doc["LastModified"].get<double>(), 1700000000.123);
  EXPECT_EQ(doc["FunctionResponseTypes"], json::array({"ReportBatchItemFailures"}));
  EXPECT_EQ(doc["ScalingConfig"]["MaximumConcurrency"], 5);
  EXPECT_FALSE(doc.contains("LastProcessingResult"));
  status.mapping.config.maximum_concurrency = 0;
  EXPECT_FALSE(MappingJson(status, "us-east-1", "000000000000").contains("ScalingConfig"));
}

async::LeasedMessage Leased(std::string id, std::string body, sqs::MessageAttributes attributes) {
  sqs::MessageMeta meta;
  meta.sender_id = "AIDASENDER";
  meta.md5_of_body = sqs::Md5Hex(body);
  meta.md5_of_attributes = sqs::Md5OfAttributes(attributes);
  meta.attributes = std::move(attributes);
  async::LeasedMessage leased;
  leased.message.id = std::move(id);
  leased.message.body = std::move(body);
  leased.message.attributes = meta.ToEngineAttributes();
  leased.message.enqueued_ms = 1700000000000;
  leased.message.first_receive_ms = 1700000000500;
  leased.message.receive_count = 2;
  leased.receipt = "receipt-" + leased.message.id;
  return leased;
}

TEST(SqsEvent, IsLambdasShapeRecordForRecord) {
  std::vector<async::LeasedMessage> messages;
  messages.push_back(Leased("m-1", "hello", {}));
  messages.push_back(Leased("m-2", "{\"a\":1}",
                            {{"Color", {"String", "blue"}}, {"Raw", {"Binary", std::string("\x00\xff", 2)}}}));
  SqsEvent event = BuildSqsEvent(messages, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1");
  EXPECT_EQ(event.records, 2u);
  json doc = json::parse(event.payload);
  ASSERT_EQ(doc["Records"].size(), 2u);
  const json& first = doc["Records"][0];
  EXPECT_EQ(first["messageId"], "m-1");
  EXPECT_EQ(first["receiptHandle"], "receipt-m-1");
  EXPECT_EQ(first["body"], "hello");
  EXPECT_EQ(first["attributes"],
            json({{"ApproximateReceiveCount", "2"},
                  {"SentTimestamp", "1700000000000"},
                  {"SenderId", "AIDASENDER"},
                  {"ApproximateFirstReceiveTimestamp", "1700000000500"}}));
  EXPECT_EQ(first["messageAttributes"], json::object());
  EXPECT_EQ(first["md5OfBody"], "5d41402abc4b2a76b9719d911017c592");
  EXPECT_TRUE(first["md5OfMessageAttributes"].is_null());
  EXPECT_EQ(first["eventSource"], "aws:sqs");
  EXPECT_EQ(first["eventSourceARN"], "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ(first["awsRegion"], "us-east-1");
  const json& second = doc["Records"][1];
  EXPECT_EQ(second["messageAttributes"]["Color"],
            json({{"stringValue", "blue"}, {"stringListValues", json::array()},
                  {"binaryListValues", json::array()}, {"dataType", "String"}}));
  EXPECT_EQ(second["messageAttributes"]["Raw"]["binaryValue"], Base64Encode(std::string("\x00\xff", 2)));
  EXPECT_EQ(second["messageAttributes"]["Raw"]["dataType"], "Binary");
  EXPECT_EQ(second["md5OfMessageAttributes"], sqs::Md5OfAttributes(
      {{"Color", {"String", "blue"}}, {"Raw", {"Binary", std::string("\x00\xff", 2)}}}));
}

TEST(SqsEvent, LeavesOutWhatWouldPassThePayloadLimit) {
  std::vector<async::LeasedMessage> messages;
  for (int i = 0; i < 5; ++i) messages.push_back(Leased("m-" + std::to_string(i), std::string(1000, 'x'), {}));
  SqsEvent event = BuildSqsEvent(messages, "arn", "us-east-1", 3000);
  EXPECT_GE(event.records, 1u);
  EXPECT_LT(event.records, 5u);
  EXPECT_LE(event.payload.size(), 3000u);
  EXPECT_EQ(json::parse(event.payload)["Records"].size(), event.records);
  // The first record always goes, whatever its size: a batch of one is never cut.
  EXPECT_EQ(BuildSqsEvent(messages, "arn", "us-east-1", 10).records, 1u);
}

TEST(RecordFilter, MatchesTheRecordWithItsJsonBodyParsed) {
  auto filter = RecordFilter::Parse({R"({"body":{"kind":["order"]}})",
                                     R"({"messageAttributes":{"Color":{"stringValue":["red"]}}})"});
  ASSERT_TRUE(filter);
  EXPECT_TRUE(filter->Matches(Leased("1", R"({"kind":"order"})", {}), "arn", "r"));
  EXPECT_FALSE(filter->Matches(Leased("2", R"({"kind":"refund"})", {}), "arn", "r"));
  EXPECT_FALSE(filter->Matches(Leased("3", "kind order", {}), "arn", "r"));
  EXPECT_TRUE(filter->Matches(Leased("4", "plain", {{"Color", {"String", "red"}}}), "arn", "r"));
  auto plain = RecordFilter::Parse({R"({"body":["plain"]})"});
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->Matches(Leased("5", "plain", {}), "arn", "r"));
  EXPECT_TRUE(RecordFilter().Matches(Leased("6", "x", {}), "arn", "r"));
  EXPECT_FALSE(RecordFilter::Parse({"[1]"}));
}

TEST(SqsEvent, AFifoRecordCarriesItsGroupAndSequence) {
  auto leased = Leased("m-1", "x", {});
  leased.message.group_id = "g1";
  leased.message.dedup_id = "d1";
  leased.message.seq = 42;
  json record = json::parse(BuildSqsEvent({leased}, "arn", "r").payload)["Records"][0];
  EXPECT_EQ(record["attributes"]["MessageGroupId"], "g1");
  EXPECT_EQ(record["attributes"]["MessageDeduplicationId"], "d1");
  EXPECT_EQ(record["attributes"]["SequenceNumber"], "42");
}

TEST(BatchResponse, ReadsReportedFailuresAsLambdaDoes) {
  std::set<std::string> ids{"a", "b", "c"};
  auto failed = [&](std::string_view body) { return ParseBatchResponse(body, ids); };
  EXPECT_EQ(failed(R"({"batchItemFailures":[{"itemIdentifier":"b"}]})").failed,
            std::set<std::string>{"b"});
  for (auto success : {"", "null", "{}", R"({"batchItemFailures":[]})",
                       R"({"batchItemFailures":null})", R"({"other":1})"}) {
    auto response = failed(success);
    EXPECT_FALSE(response.all_failed) << success;
    EXPECT_TRUE(response.failed.empty()) << success;
  }
  for (auto whole : {"not json", "[1]", "\"ok\"", R"({"batchItemFailures":{}})",
                     R"({"batchItemFailures":[{"itemIdentifier":""}]})",
                     R"({"batchItemFailures":[{"itemIdentifier":null}]})",
                     R"({"batchItemFailures":[{"itemId":"a"}]})",
                     R"({"batchItemFailures":[{"itemIdentifier":"z"}]})",
                     R"({"batchItemFailures":["a"]})"}) {
    EXPECT_TRUE(failed(whole).all_failed) << whole;
  }
}

// A real queue engine, registry and store in a directory of the test's own; the scheduler
// is replaced by `invoke`, which answers each batch as `answer` says.
class ManagerTest : public registry::StoreDirTest {
 protected:
  void SetUp() override {
    StoreDirTest::SetUp();
    auto engine = async::SqliteQueueEngine::Open(dir_ / "queues");
    ASSERT_TRUE(engine) << engine.error().message();
    engine_ = std::move(*engine);
    auto store = registry::SqliteStore::Open(dir_ / "lambent.db");
    ASSERT_TRUE(store);
    registry_ = std::make_unique<registry::Registry>(std::move(*store));
    ASSERT_TRUE(registry_->Load());
    ASSERT_TRUE(registry_->Create(registry::Hello()));
    ASSERT_TRUE(engine_->CreateQueue("q", {}));
    OpenManager();
  }
  void TearDown() override {
    manager_.reset();
    io_.poll();
    engine_->Close();
    io_.poll();
    StoreDirTest::TearDown();
  }

  void OpenManager() {
    PollerOptions options{"us-east-1", "000000000000"};
    options.default_max_concurrency = 2;
    auto invoke = [this](std::unique_ptr<scheduler::Invocation> invocation) {
      payloads_.push_back(json::parse(invocation->payload));
      ++running_;
      asio::post(io_, [this, invocation = std::move(invocation)] {
        --running_;
        invocation->done(answer_(payloads_.back()));
      });
    };
    auto manager = MappingManager::Open(io_, *engine_, *registry_, invoke,
                                        [](std::function<void()> fn) { fn(); },
                                        dir_ / "event_source_mappings.db", options);
    ASSERT_TRUE(manager) << manager.error().message();
    manager_ = std::move(*manager);
    manager_->Start();
  }

  void Send(int n) {
    for (int i = 0; i < n; ++i) {
      std::promise<Result<void>> durable;
      auto id = sqs::Send(*engine_, "q", "message " + std::to_string(i), {}, "tester",
                          {nullptr, [&durable](Result<void> r) { durable.set_value(r); }});
      ASSERT_TRUE(id);
      ASSERT_TRUE(durable.get_future().get());
    }
  }

  template <typename Predicate>
  bool RunUntil(Predicate predicate, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(5ms);
    }
    return predicate();
  }

  Result<MappingStatus> Call(const std::function<void(MappingManager::Done)>& call) {
    std::optional<Result<MappingStatus>> answer;
    call([&answer](Result<MappingStatus> result) { answer = std::move(result); });
    RunUntil([&] { return answer.has_value(); });
    return answer.value_or(tl::unexpected(Error::Internal("no answer")));
  }

  std::string CreateMapping(MappingConfig config) {
    auto created = Call([&](auto done) { manager_->Create(config, done); });
    EXPECT_TRUE(created) << created.error().message();
    if (!created) return {};
    EXPECT_EQ(created->state, State::kCreating);
    return created->mapping.uuid;
  }

  async::QueueStats Stats() { return engine_->Stats("q").value_or(async::QueueStats{}); }

  asio::io_context io_;
  std::unique_ptr<async::SqliteQueueEngine> engine_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<MappingManager> manager_;
  std::vector<json> payloads_;
  int running_ = 0;
  std::function<scheduler::Outcome(const json&)> answer_ = [](const json&) {
    return scheduler::Outcome{"null"};
  };
};

TEST_F(ManagerTest, DrainsTheQueueInBatchesAndDeletesWhatSucceeded) {
  Send(25);
  std::string uuid = CreateMapping({"hello", "", "q"});
  ASSERT_TRUE(RunUntil([&] { return Stats().visible + Stats().in_flight == 0; }));
  size_t records = 0;
  for (const auto& payload : payloads_) {
    EXPECT_LE(payload["Records"].size(), 10u);
    records += payload["Records"].size();
  }
  EXPECT_EQ(records, 25u);
  EXPECT_EQ(manager_->Get(uuid)->state, State::kEnabled);
  EXPECT_EQ(payloads_[0]["Records"][0]["eventSourceARN"], "arn:aws:sqs:us-east-1:000000000000:q");
}

TEST_F(ManagerTest, RedeliversOnlyTheReportedFailures) {
  Send(3);
  answer_ = [](const json& payload) {
    std::string failed = payload["Records"][1]["messageId"];
    return scheduler::Outcome{json{{"batchItemFailures", {{{"itemIdentifier", failed}}}}}.dump()};
  };
  CreateMapping({"hello", "", "q", 10, 0, /*report_item_failures=*/true});
  ASSERT_TRUE(RunUntil([&] { return !payloads_.empty() && running_ == 0; }));
  RunUntil([] { return false; }, 50ms);
  EXPECT_EQ(Stats().in_flight, 1);
  EXPECT_EQ(Stats().visible, 0);
}

TEST_F(ManagerTest, LeavesTheWholeBatchOnAFunctionError) {
  Send(4);
  answer_ = [](const json&) {
    scheduler::Outcome outcome{R"({"errorMessage":"boom"})"};
    outcome.function_error = true;
    return outcome;
  };
  CreateMapping({"hello", "", "q"});
  ASSERT_TRUE(RunUntil([&] { return !payloads_.empty() && running_ == 0; }));
  RunUntil([] { return false; }, 50ms);
  EXPECT_EQ(Stats().in_flight, 4);
}

TEST_F(ManagerTest, ADisabledMappingLeasesNothingUntilEnabled) {
  std::string uuid = CreateMapping({"hello", "", "q"});
  auto disabled = Call([&](auto done) {
    manager_->Update(uuid, [](MappingConfig& c) { c.enabled = false; return Ok(); }, done);
  });
  ASSERT_TRUE(disabled);
  EXPECT_EQ(disabled->state, State::kDisabling);
  ASSERT_TRUE(RunUntil([&] { return manager_->Get(uuid)->state == State::kDisabled; }));
  Send(3);
  RunUntil([] { return false; }, 100ms);
  EXPECT_TRUE(payloads_.empty());
  EXPECT_EQ(Stats().visible, 3);
  auto enabled = Call([&](auto done) {
    manager_->Update(uuid, [](MappingConfig& c) { c.enabled = true; return Ok(); }, done);
  });
  ASSERT_TRUE(enabled);
  EXPECT_EQ(enabled->state, State::kEnabling);
  ASSERT_TRUE(RunUntil([&] { return Stats().visible + Stats().in_flight == 0; }));
  EXPECT_EQ(manager_->Get(uuid)->state, State::kEnabled);
}

TEST_F(ManagerTest, RefusesADuplicateAndAnUnknownQueue) {
  std::string uuid = CreateMapping({"hello", "", "q"});
  auto duplicate = Call([&](auto done) { manager_->Create({"hello", "", "q"}, done); });
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code(), ErrorCode::kConflict);
  EXPECT_NE(duplicate.error().message().find(uuid), std::string::npos);
  auto unknown = Call([&](auto done) { manager_->Create({"hello", "", "nope"}, done); });
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kInvalidArgument);
  // Another qualifier of the same function is another mapping.
  EXPECT_TRUE(Call([&](auto done) { manager_->Create({"hello", "$LATEST", "q"}, done); }));
}

TEST_F(ManagerTest, MappingsSurviveARestartAndGoWhenDeleted) {
  std::string uuid = CreateMapping({"hello", "", "q", 20, 2});
  std::string second = CreateMapping({"hello", "$LATEST", "q"});
  auto deleted = Call([&](auto done) { manager_->Delete(second, done); });
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->state, State::kDeleting);
  ASSERT_TRUE(RunUntil([&] { return !manager_->Get(second); }));
  manager_.reset();
  OpenManager();
  ASSERT_EQ(manager_->List().size(), 1u);
  auto status = manager_->Get(uuid);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->mapping.config.batch_size, 20);
  EXPECT_EQ(status->mapping.config.batching_window_s, 2);
  EXPECT_EQ(status->state, State::kEnabled);
}

TEST_F(ManagerTest, AMappingOfADeletedFunctionWaitsForItToComeBack) {
  std::string uuid = CreateMapping({"hello", "", "q"});
  ASSERT_TRUE(registry_->Delete("hello"));
  Send(2);
  ASSERT_TRUE(RunUntil([&] { return !manager_->Get(uuid)->problem.empty(); }));
  EXPECT_EQ(manager_->Get(uuid)->problem, "PROBLEM: Function not found.");
  EXPECT_TRUE(payloads_.empty());
  EXPECT_EQ(Stats().visible, 2);
}

TEST_F(ManagerTest, WaitsForTheBatchingWindowToFillABatch) {
  Send(3);
  CreateMapping({"hello", "", "q", 20, 1});
  RunUntil([] { return false; }, 300ms);
  EXPECT_TRUE(payloads_.empty()) << "a partial batch ran before its window ended";
  Send(2);
  ASSERT_TRUE(RunUntil([&] { return !payloads_.empty(); }, 3s));
  EXPECT_EQ(payloads_[0]["Records"].size(), 5u);
}

TEST_F(ManagerTest, DeletesWhatNoFilterMatchesUnseen) {
  for (auto body : {R"({"keep":true})", R"({"keep":false})", "plain"}) {
    std::promise<Result<void>> durable;
    ASSERT_TRUE(sqs::Send(*engine_, "q", body, {}, "tester",
                          {nullptr, [&durable](Result<void> r) { durable.set_value(r); }}));
    ASSERT_TRUE(durable.get_future().get());
  }
  MappingConfig config{"hello", "", "q"};
  config.filters = {R"({"body":{"keep":[true]}})"};
  CreateMapping(config);
  ASSERT_TRUE(RunUntil([&] { return Stats().visible + Stats().in_flight == 0; }));
  ASSERT_EQ(payloads_.size(), 1u);
  ASSERT_EQ(payloads_[0]["Records"].size(), 1u);
  EXPECT_EQ(payloads_[0]["Records"][0]["body"], R"({"keep":true})");
}

TEST_F(ManagerTest, BacksOffAndRedeliversAThrottledBatch) {
  Send(1);
  int calls = 0;
  answer_ = [&calls](const json&) {
    scheduler::Outcome outcome;
    if (++calls == 1) outcome.error = Error::Throttled("ConcurrentInvocationLimitExceeded", "busy");
    return outcome;
  };
  CreateMapping({"hello", "", "q"});
  ASSERT_TRUE(RunUntil([&] { return Stats().visible + Stats().in_flight == 0; }));
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace lambent::esm
