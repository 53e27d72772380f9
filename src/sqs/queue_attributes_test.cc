#include "sqs/queue_attributes.h"

#include <gtest/gtest.h>

namespace lambent::sqs {
namespace {

using nlohmann::json;

AttributeContext Context() {
  return AttributeContext{"us-east-1", "000000000000", [](const std::string& name) { return name == "dlq"; }};
}

TEST(QueueAttributes, AppliesSqsAttributesToTheEngineOptionsAndMetadata) {
  QueueSettings settings;
  auto ok = ApplyAttributes(
      json{{"VisibilityTimeout", "60"},
           {"MessageRetentionPeriod", "120"},
           {"DelaySeconds", "5"},
           {"ReceiveMessageWaitTimeSeconds", "20"},
           {"MaximumMessageSize", "1024"},
           {"Policy", "{}"},
           {"RedrivePolicy",
            R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"})"}},
      "q", Context(), settings);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(settings.options.visibility_timeout_ms, 60'000);
  EXPECT_EQ(settings.options.retention_ms, 120'000);
  EXPECT_EQ(settings.options.delay_ms, 5'000);
  EXPECT_EQ(settings.options.max_receive_count, 3);
  EXPECT_EQ(settings.options.dead_letter_queue, "dlq");
  EXPECT_EQ(settings.metadata.receive_wait_s, 20);
  EXPECT_EQ(settings.metadata.max_message_bytes, 1024);
  EXPECT_EQ(settings.metadata.stored["Policy"], "{}");
}

TEST(QueueAttributes, RefusesOutOfRangeValuesWithoutChangingAnything) {
  QueueSettings settings;
  for (auto [name, value] : std::vector<std::pair<const char*, const char*>>{{"VisibilityTimeout", "43201"},
                                                                             {"DelaySeconds", "-1"},
                                                                             {"MessageRetentionPeriod", "59"},
                                                                             {"ReceiveMessageWaitTimeSeconds", "21"},
                                                                             {"MaximumMessageSize", "262145"},
                                                                             {"VisibilityTimeout", "1e3"}}) {
    auto ok = ApplyAttributes(json{{"Policy", "{}"}, {name, value}}, "q", Context(), settings);
    ASSERT_FALSE(ok) << name << "=" << value;
    EXPECT_EQ(ok.error().code, "InvalidAttributeValue");
  }
  EXPECT_TRUE(settings.metadata.stored.empty());
}

TEST(QueueAttributes, RefusesUnknownAndReadOnlyNames) {
  QueueSettings settings;
  for (const char* name : {"Bogus", "QueueArn", "ApproximateNumberOfMessages"}) {
    auto ok = ApplyAttributes(json{{name, "1"}}, "q", Context(), settings);
    ASSERT_FALSE(ok);
    EXPECT_EQ(ok.error().code, "InvalidAttributeName");
  }
}

TEST(QueueAttributes, ChecksTheRedrivePolicy) {
  QueueSettings settings;
  for (const char* policy :
       {"not json", R"({"maxReceiveCount":3})",
        R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:missing","maxReceiveCount":3})",
        R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":0})",
        R"({"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:000000000000:dlq","maxReceiveCount":3})"}) {
    auto ok = ApplyAttributes(json{{"RedrivePolicy", policy}}, "q", Context(), settings);
    ASSERT_FALSE(ok) << policy;
    EXPECT_EQ(ok.error().code, "InvalidParameterValue");
  }
  auto self =
      ApplyAttributes(json{{"RedrivePolicy",
                            R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3})"}},
                      "dlq", Context(), settings);
  EXPECT_FALSE(self);
}

TEST(QueueAttributes, ReadsEveryAttributeForAll) {
  QueueSettings settings;
  ASSERT_TRUE(
      ApplyAttributes(json{{"RedrivePolicy",
                            R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":5})"}},
                      "q", Context(), settings));
  settings.metadata.created_s = 1700000000;
  async::QueueStats stats{.visible = 3, .in_flight = 2, .delayed = 1};
  auto all = ReadAttributes({"All"}, "q", Context(), settings, stats);
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["ApproximateNumberOfMessages"], "3");
  EXPECT_EQ((*all)["ApproximateNumberOfMessagesNotVisible"], "2");
  EXPECT_EQ((*all)["ApproximateNumberOfMessagesDelayed"], "1");
  EXPECT_EQ((*all)["VisibilityTimeout"], "30");
  EXPECT_EQ((*all)["MessageRetentionPeriod"], "345600");
  EXPECT_EQ((*all)["MaximumMessageSize"], "262144");
  EXPECT_EQ((*all)["CreatedTimestamp"], "1700000000");
  EXPECT_EQ((*all)["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ((*all)["RedrivePolicy"],
            R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":5})");
  EXPECT_FALSE(all->contains("Policy"));
  auto one = ReadAttributes({"DelaySeconds"}, "q", Context(), settings, stats);
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, (json{{"DelaySeconds", "0"}}));
  auto bad = ReadAttributes({"Nope"}, "q", Context(), settings, stats);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "InvalidAttributeName");
}

TEST(QueueAttributes, MetadataSurvivesItsJson) {
  QueueMetadata metadata;
  metadata.created_s = 1;
  metadata.modified_s = 2;
  metadata.receive_wait_s = 10;
  metadata.max_message_bytes = 2048;
  metadata.tags["team"] = "a";
  metadata.stored["Policy"] = "{}";
  auto back = QueueMetadata::FromJson(metadata.ToJson());
  EXPECT_EQ(back.created_s, 1);
  EXPECT_EQ(back.modified_s, 2);
  EXPECT_EQ(back.receive_wait_s, 10);
  EXPECT_EQ(back.max_message_bytes, 2048);
  EXPECT_EQ(back.tags, metadata.tags);
  EXPECT_EQ(back.stored, metadata.stored);
  EXPECT_EQ(QueueMetadata::FromJson("").max_message_bytes, 262144);
}

}  // namespace
}  // namespace lambent::sqs

namespace lambent::sqs {
namespace {

TEST(QueueAttributes, FifoAttributesBelongToFifoQueuesAndAreFixedAtCreation) {
  QueueSettings standard;
  auto refused = ApplyAttributes(json{{"ContentBasedDeduplication", "true"}}, "q", Context(), standard);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "InvalidAttributeName");
  EXPECT_FALSE(ApplyAttributes(json{{"FifoQueue", "true"}}, "q", Context(), standard));

  QueueSettings fifo;
  ASSERT_TRUE(ApplyAttributes(
      json{{"FifoQueue", "true"}, {"ContentBasedDeduplication", "true"}, {"DeduplicationScope", "messageGroup"}},
      "q.fifo", Context(), fifo, true));
  EXPECT_TRUE(fifo.options.fifo);
  EXPECT_TRUE(fifo.metadata.content_based_dedup);
  auto all = ReadAttributes({"All"}, "q.fifo", Context(), fifo, {});
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["FifoQueue"], "true");
  EXPECT_EQ((*all)["ContentBasedDeduplication"], "true");
  EXPECT_EQ((*all)["DeduplicationScope"], "messageGroup");
  EXPECT_EQ((*all)["FifoThroughputLimit"], "perQueue");
  // A standard dead-letter queue does not take a FIFO queue's messages.
  auto redrive =
      ApplyAttributes(json{{"RedrivePolicy",
                            R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3})"}},
                      "q.fifo", Context(), fifo);
  EXPECT_FALSE(redrive);
  auto standard_all = ReadAttributes({"All"}, "q", Context(), standard, {});
  ASSERT_TRUE(standard_all);
  EXPECT_FALSE(standard_all->contains("FifoQueue"));
}

}  // namespace
}  // namespace lambent::sqs
