#include "sqs/sqs_message.h"

#include <gtest/gtest.h>

namespace lambent::sqs {
namespace {

TEST(SqsMessage, Md5OfBodyIsHexMd5) {
  EXPECT_EQ(Md5Hex("hello"), "5d41402abc4b2a76b9719d911017c592");
}

TEST(SqsMessage, MetaSurvivesTheEngineAttributesWithBinaryValues) {
  MessageMeta meta;
  meta.sender_id = "000000000000";
  meta.md5_of_body = Md5Hex("body");
  meta.attributes["text"] = {"String", "caf\xc3\xa9"};
  meta.attributes["blob"] = {"Binary", std::string("\x00\xff\x80", 3)};
  meta.md5_of_attributes = Md5OfAttributes(meta.attributes);
  auto back = MessageMeta::FromEngineAttributes(meta.ToEngineAttributes());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->attributes, meta.attributes);
  EXPECT_EQ(back->md5_of_attributes, meta.md5_of_attributes);
  EXPECT_EQ(back->sender_id, "000000000000");
}

TEST(SqsMessage, AttributesWrittenByOtherCodeAreNotSqsMeta) {
  EXPECT_FALSE(MessageMeta::FromEngineAttributes("{\"attempts\":1}"));
  EXPECT_FALSE(MessageMeta::FromEngineAttributes("not json"));
}

TEST(SqsMessage, QueueNamesFollowSqsRules) {
  EXPECT_TRUE(IsValidQueueName("orders"));
  EXPECT_TRUE(IsValidQueueName("orders-dlq_1.fifo"));
  EXPECT_FALSE(IsValidQueueName("lambent.async.fn"));
  EXPECT_FALSE(IsValidQueueName(""));
  EXPECT_FALSE(IsValidQueueName(std::string(81, 'a')));
}

TEST(SqsMessage, ArnsOfThisRegionAndAccountNameAQueue) {
  EXPECT_EQ(QueueArn("us-east-1", "000000000000", "q"), "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ(QueueNameFromArn("arn:aws:sqs:us-east-1:000000000000:q", "us-east-1", "000000000000"), "q");
  EXPECT_FALSE(QueueNameFromArn("arn:aws:sqs:eu-west-1:000000000000:q", "us-east-1", "000000000000"));
  EXPECT_FALSE(QueueNameFromArn("arn:aws:lambda:us-east-1:000000000000:function:q", "us-east-1",
                                "000000000000"));
  EXPECT_EQ(QueueUrl("http://localhost:9000/", "000000000000", "q"), "http://localhost:9000/000000000000/q");
}

}  // namespace
}  // namespace lambent::sqs
