#include "sqs/json_protocol.h"

#include <gtest/gtest.h>

namespace lambent::sqs {
namespace {

TEST(JsonProtocol, ReadsTheOperationFromTheTarget) {
  auto request = ParseJsonRequest("AmazonSQS.SendMessage", R"({"QueueUrl":"u","MessageBody":"x"})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->operation, "SendMessage");
  EXPECT_EQ(request->input["MessageBody"], "x");
  auto empty = ParseJsonRequest("AmazonSQS.ListQueues", "");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->input.is_object());
}

TEST(JsonProtocol, RefusesBodiesThatAreNotAJsonObject) {
  for (const char* body : {"{", "[1]", "\"x\"", "{\"a\":\"\xff\"}"}) {
    auto request = ParseJsonRequest("AmazonSQS.ListQueues", body);
    ASSERT_FALSE(request) << body;
    EXPECT_EQ(request.error().status, 400u);
  }
  std::string deep(100, '[');
  EXPECT_FALSE(ParseJsonRequest("AmazonSQS.ListQueues", "{\"a\":" + deep));
}

TEST(JsonProtocol, RendersErrorsWithTheQueryCodeHeader) {
  SqsError error = SqsError::NonExistentQueue();
  EXPECT_EQ(JsonErrorBody(error),
            R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})");
  EXPECT_EQ(QueryErrorHeader(error), "AWS.SimpleQueueService.NonExistentQueue;Sender");
  EXPECT_EQ(QueryErrorHeader(SqsError::Internal()), "InternalError;Receiver");
}

}  // namespace
}  // namespace lambent::sqs
