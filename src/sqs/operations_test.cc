#include "sqs/operations.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>

#include "async/sqlite_queue_engine.h"

namespace lambent::sqs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lambent-sqs-operations-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto engine = async::SqliteQueueEngine::Open(dir_);
    ASSERT_TRUE(engine) << engine.error().message();
    engine_ = std::move(*engine);
    operations_ = std::make_unique<Operations>(io_, *engine_, "us-east-1", "000000000000");
  }
  void TearDown() override {
    operations_.reset();
    engine_.reset();
    fs::remove_all(dir_);
  }

  // Starts an operation; the answer lands in the returned slot once the io context runs it.
  std::shared_ptr<std::optional<Outcome>> Start(const std::string& operation, json input) {
    auto slot = std::make_shared<std::optional<Outcome>>();
    operations_->Run(operation, input, context_, [slot](Outcome outcome) { *slot = std::move(outcome); });
    return slot;
  }
  // Runs the io context until the slot is filled (or `limit` passes).
  Outcome Wait(const std::shared_ptr<std::optional<Outcome>>& slot, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!*slot && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(10ms);
    }
    EXPECT_TRUE(*slot) << "no answer in time";
    return *slot ? **slot : Outcome(tl::unexpected(SqsError::Internal()));
  }
  Outcome Call(const std::string& operation, json input) { return Wait(Start(operation, std::move(input))); }

  std::string CreateQueue(const std::string& name, json attributes = json::object()) {
    auto out = Call("CreateQueue", json{{"QueueName", name}, {"Attributes", attributes}});
    EXPECT_TRUE(out) << out.error().message;
    return out ? (*out)["QueueUrl"].get<std::string>() : "";
  }

  fs::path dir_;
  boost::asio::io_context io_;
  std::unique_ptr<async::SqliteQueueEngine> engine_;
  std::unique_ptr<Operations> operations_;
  RequestContext context_{"http://localhost:9324", "", {}};
};

TEST_F(OperationsTest, SendsAndReceivesOnlyOnceTheMessageIsDurable) {
  std::string url = CreateQueue("orders");
  EXPECT_EQ(url, "http://localhost:9324/000000000000/orders");
  auto sent = Call("SendMessage", json{{"QueueUrl", url}, {"MessageBody", "hello"}});
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_FALSE((*sent)["MessageId"].get<std::string>().empty());
  auto received = Call("ReceiveMessage", json{{"QueueUrl", url}, {"AttributeNames", {"ApproximateReceiveCount"}}});
  ASSERT_TRUE(received);
  ASSERT_EQ((*received)["Messages"].size(), 1u);
  EXPECT_EQ((*received)["Messages"][0]["Body"], "hello");
  EXPECT_EQ((*received)["Messages"][0]["MessageId"], (*sent)["MessageId"]);
  EXPECT_EQ((*received)["Messages"][0]["Attributes"]["ApproximateReceiveCount"], "1");
}

TEST_F(OperationsTest, ALongPollWakesWhenAMessageArrives) {
  std::string url = CreateQueue("waiting");
  auto poll = Start("ReceiveMessage", json{{"QueueUrl", url}, {"WaitTimeSeconds", 5}});
  io_.run_for(50ms);
  EXPECT_FALSE(*poll) << "answered before any message";
  auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(Call("SendMessage", json{{"QueueUrl", url}, {"MessageBody", "late"}}));
  auto out = Wait(poll);
  ASSERT_TRUE(out);
  ASSERT_EQ((*out)["Messages"].size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);
}

TEST_F(OperationsTest, ALongPollEndsEmptyAfterItsWaitOrAtStop) {
  std::string url = CreateQueue("quiet", json{{"ReceiveMessageWaitTimeSeconds", "1"}});
  auto began = std::chrono::steady_clock::now();
  auto out = Call("ReceiveMessage", json{{"QueueUrl", url}});  // the queue's own wait
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->contains("Messages"));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 900ms);

  auto parked = Start("ReceiveMessage", json{{"QueueUrl", url}, {"WaitTimeSeconds", 20}});
  io_.run_for(20ms);
  operations_->Stop();
  ASSERT_TRUE(*parked);
  EXPECT_TRUE(**parked);
  auto after = Start("ReceiveMessage", json{{"QueueUrl", url}, {"WaitTimeSeconds", 20}});
  EXPECT_TRUE(*after) << "a poll after Stop is answered at once";
}

TEST_F(OperationsTest, ALongPollWhoseClientLeftLetsGoWithinASecondOrSo) {
  std::string url = CreateQueue("abandoned");
  auto connected = std::make_shared<bool>(true);
  context_.still_wanted = [connected] { return *connected; };
  auto poll = Start("ReceiveMessage", json{{"QueueUrl", url}, {"WaitTimeSeconds", 20}});
  io_.run_for(50ms);
  ASSERT_FALSE(*poll);
  *connected = false;
  auto out = Wait(poll, 3s);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->contains("Messages"));
}

TEST_F(OperationsTest, KeepsLambentsOwnQueuesOutOfSight) {
  ASSERT_TRUE(engine_->CreateQueue("lambent.async.fn", {}));
  CreateQueue("mine");
  auto list = Call("ListQueues", json::object());
  ASSERT_TRUE(list);
  EXPECT_EQ((*list)["QueueUrls"], json::array({"http://localhost:9324/000000000000/mine"}));
  auto send = Call("SendMessage",
                   json{{"QueueUrl", "http://localhost:9324/000000000000/lambent.async.fn"}, {"MessageBody", "x"}});
  ASSERT_FALSE(send);
  EXPECT_EQ(send.error().code, "AWS.SimpleQueueService.NonExistentQueue");
  auto url = Call("GetQueueUrl", json{{"QueueName", "lambent.async.fn"}});
  ASSERT_FALSE(url);
}

TEST_F(OperationsTest, CreateQueueIsIdempotentOnlyWithTheSameAttributes) {
  CreateQueue("same", json{{"VisibilityTimeout", "60"}});
  EXPECT_TRUE(Call("CreateQueue", json{{"QueueName", "same"}, {"Attributes", {{"VisibilityTimeout", "60"}}}}));
  EXPECT_TRUE(Call("CreateQueue", json{{"QueueName", "same"}}));
  auto other = Call("CreateQueue", json{{"QueueName", "same"}, {"Attributes", {{"VisibilityTimeout", "61"}}}});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, "QueueAlreadyExists");
}

TEST_F(OperationsTest, BatchesAnswerPerEntry) {
  std::string url = CreateQueue("batch");
  auto sent =
      Call("SendMessageBatch",
           json{{"QueueUrl", url},
                {"Entries", {{{"Id", "a"}, {"MessageBody", "ok"}}, {{"Id", "b"}, {"MessageBody", "bad\x01"}}}}});
  ASSERT_TRUE(sent);
  EXPECT_EQ((*sent)["Successful"].size(), 1u);
  ASSERT_EQ((*sent)["Failed"].size(), 1u);
  EXPECT_EQ((*sent)["Failed"][0]["Code"], "InvalidMessageContents");
  auto deleted =
      Call("DeleteMessageBatch", json{{"QueueUrl", url}, {"Entries", {{{"Id", "x"}, {"ReceiptHandle", "nonsense"}}}}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ((*deleted)["Failed"][0]["Code"], "ReceiptHandleIsInvalid");
  auto dup = Call("DeleteMessageBatch",
                  json{{"QueueUrl", url},
                       {"Entries", {{{"Id", "x"}, {"ReceiptHandle", "1"}}, {{"Id", "x"}, {"ReceiptHandle", "2"}}}}});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
}

}  // namespace
}  // namespace lambent::sqs
