#include "async/destination.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lambent::async {
namespace {

using nlohmann::json;

TEST(DestinationTest, TellsTheKindOfADestinationArn) {
  EXPECT_EQ(DestinationKindOf("arn:aws:lambda:us-east-1:000000000000:function:f"),
            DestinationKind::kFunction);
  EXPECT_EQ(DestinationKindOf("arn:aws:lambda:us-east-1:000000000000:function:f:live"),
            DestinationKind::kFunction);
  EXPECT_EQ(DestinationKindOf("arn:aws:sqs:us-east-1:000000000000:q"), DestinationKind::kQueue);
  EXPECT_EQ(DestinationKindOf("arn:aws:sns:us-east-1:000000000000:t"), DestinationKind::kTopic);
  EXPECT_EQ(DestinationKindOf("arn:aws:events:us-east-1:000000000000:event-bus/default"),
            DestinationKind::kEventBus);
  EXPECT_EQ(DestinationKindOf("arn:aws:lambda:us-east-1:000000000000:layer:l"),
            DestinationKind::kUnknown);
  EXPECT_EQ(DestinationKindOf("arn:aws:s3:::bucket"), DestinationKind::kUnknown);
  EXPECT_EQ(DestinationKindOf("not an arn"), DestinationKind::kUnknown);
  EXPECT_EQ(DestinationKindOf(""), DestinationKind::kUnknown);
}

TEST(DestinationTest, ParsesFunctionArns) {
  auto parts = ParseFunctionArn("arn:aws:lambda:eu-west-1:123456789012:function:f:7");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->region, "eu-west-1");
  EXPECT_EQ(parts->account, "123456789012");
  EXPECT_EQ(parts->name, "f");
  EXPECT_EQ(parts->qualifier, "7");
  EXPECT_FALSE(ParseFunctionArn("arn:aws:lambda:eu-west-1:123456789012:function:"));
  EXPECT_FALSE(ParseFunctionArn("arn:aws:lambda:eu-west-1:123456789012:function:f:"));
  EXPECT_FALSE(ParseFunctionArn("arn:aws:lambda:eu-west-1:123456789012:function:f:1:2"));
}

TEST(DestinationTest, AFailureRecordHasLambdasShape) {
  RecordInput input;
  input.request_id = "e4b46cbf-b738-4f0a-8880-a18cdf61200e";
  input.function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST";
  input.condition = Condition::kRetriesExhausted;
  input.approximate_invoke_count = 3;
  input.request_payload = R"({"order": 7})";
  input.response =
      AttemptResponse{200, "$LATEST", true, R"({"errorMessage":"boom","errorType":"Exception"})"};
  input.timestamp_ms = 1573755365568;
  auto record = json::parse(DestinationRecord(input));
  EXPECT_EQ(record, json::parse(R"({
    "version": "1.0",
    "timestamp": "2019-11-14T18:16:05.568Z",
    "requestContext": {
      "requestId": "e4b46cbf-b738-4f0a-8880-a18cdf61200e",
      "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
      "condition": "RetriesExhausted",
      "approximateInvokeCount": 3
    },
    "requestPayload": {"order": 7},
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "responsePayload": {"errorMessage": "boom", "errorType": "Exception"}
  })"));
}

TEST(DestinationTest, ASuccessRecordHasNoFunctionErrorAndKeepsATextAnswerAsText) {
  RecordInput input;
  input.condition = Condition::kSuccess;
  input.approximate_invoke_count = 1;
  input.request_payload = "{}";
  input.response = AttemptResponse{200, "3", false, "not json"};
  auto record = json::parse(DestinationRecord(input));
  EXPECT_EQ(record["requestContext"]["condition"], "Success");
  EXPECT_FALSE(record["responseContext"].contains("functionError"));
  EXPECT_EQ(record["responseContext"]["executedVersion"], "3");
  EXPECT_EQ(record["responsePayload"], "not json");
}

TEST(DestinationTest, AnExpiredEventThatNeverRanHasNoResponse) {
  RecordInput input;
  input.condition = Condition::kEventAgeExceeded;
  input.request_payload = "[1,2]";
  auto record = json::parse(DestinationRecord(input));
  EXPECT_EQ(record["requestContext"]["condition"], "EventAgeExceeded");
  EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 0);
  EXPECT_EQ(record["requestPayload"], json::parse("[1,2]"));
  EXPECT_FALSE(record.contains("responseContext"));
  EXPECT_FALSE(record.contains("responsePayload"));
}

TEST(DestinationTest, ErrorMessagesComeFromTheErrorDocumentAndAreCut) {
  EXPECT_EQ(ErrorMessageOf(R"({"errorMessage":"boom","errorType":"E"})"), "boom");
  EXPECT_EQ(ErrorMessageOf("plain"), "plain");
  EXPECT_EQ(ErrorMessageOf(std::string(5000, 'x')).size(), 1024u);
}

}  // namespace
}  // namespace lambent::async
