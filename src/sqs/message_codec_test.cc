#include "sqs/message_codec.h"

#include <gtest/gtest.h>

namespace lambent::sqs {
namespace {

using nlohmann::json;

TEST(MessageCodec, AcceptsOnlyTheCharactersSqsAllows) {
  EXPECT_TRUE(IsValidMessageText("plain \t\r\n caf\xc3\xa9 \xf0\x9f\x98\x80 \xee\x80\x80"));
  EXPECT_FALSE(IsValidMessageText(std::string("nul\0", 4)));
  EXPECT_FALSE(IsValidMessageText("bell\x07"));
  EXPECT_FALSE(IsValidMessageText("\xff"));
  EXPECT_FALSE(IsValidMessageText("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(IsValidMessageText("\xef\xbf\xbe"));  // U+FFFE
  EXPECT_FALSE(IsValidMessageText("\xc0\x80"));      // overlong
}

TEST(MessageCodec, PreparesAMessageWithSqsMd5s) {
  json entry{{"MessageBody", "hello"},
             {"DelaySeconds", "3"},
             {"MessageAttributes",
              {{"n", {{"DataType", "String"}, {"StringValue", "v"}}},
               {"b", {{"DataType", "Binary"}, {"BinaryValue", "AAE="}}}}}};
  auto prepared = PrepareMessage(entry, SendRules{}, "000000000000");
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(prepared->answer["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
  MessageAttributes expected{{"n", {"String", "v"}}, {"b", {"Binary", std::string("\x00\x01", 2)}}};
  EXPECT_EQ(prepared->answer["MD5OfMessageAttributes"], Md5OfAttributes(expected));
  EXPECT_EQ(prepared->message.delay_ms, 3000);
  auto meta = MessageMeta::FromEngineAttributes(prepared->message.attributes);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->attributes, expected);
}

TEST(MessageCodec, RefusesWhatSqsRefuses) {
  auto code_of = [](const json& entry, int64_t max = 262144) {
    auto prepared = PrepareMessage(entry, SendRules{max}, "0");
    return prepared ? std::string("ok") : prepared.error().code;
  };
  EXPECT_EQ(code_of(json::object()), "MissingParameter");
  EXPECT_EQ(code_of(json{{"MessageBody", "a\x01"}}), "InvalidMessageContents");
  EXPECT_EQ(code_of(json{{"MessageBody", std::string(262145, 'a')}}), "InvalidParameterValue");
  EXPECT_EQ(code_of(json{{"MessageBody", std::string(262144, 'a')}}), "ok");
  EXPECT_EQ(code_of(json{{"MessageBody", std::string(1025, 'a')}}, 1024), "InvalidParameterValue");
  EXPECT_EQ(code_of(json{{"MessageBody", "x"}, {"DelaySeconds", 901}}), "InvalidParameterValue");
  auto attribute = [](json value) { return json{{"MessageBody", "x"}, {"MessageAttributes", {{"a", value}}}}; };
  EXPECT_EQ(code_of(attribute(json{{"DataType", "Number"}, {"StringValue", "12a"}})), "InvalidParameterValue");
  EXPECT_EQ(code_of(attribute(json{{"DataType", "Number.int"}, {"StringValue", "-1.5e3"}})), "ok");
  EXPECT_EQ(code_of(attribute(json{{"DataType", "Custom"}, {"StringValue", "1"}})), "InvalidParameterValue");
  EXPECT_EQ(code_of(attribute(json{{"DataType", "String"}})), "InvalidParameterValue");
  EXPECT_EQ(code_of(attribute(json{{"DataType", "Binary"}, {"BinaryValue", "!!"}})), "InvalidParameterValue");
  json bad_name{{"MessageBody", "x"},
                {"MessageAttributes", {{"AWS.x", {{"DataType", "String"}, {"StringValue", "v"}}}}}};
  EXPECT_EQ(code_of(bad_name), "InvalidParameterValue");
  json many{{"MessageBody", "x"}, {"MessageAttributes", json::object()}};
  for (int i = 0; i < 11; ++i)
    many["MessageAttributes"]["a" + std::to_string(i)] = {{"DataType", "String"}, {"StringValue", "v"}};
  EXPECT_EQ(code_of(many), "InvalidParameterValue");
}

TEST(MessageCodec, CountsAttributesAgainstTheSizeLimit) {
  json entry{{"MessageBody", std::string(262140, 'a')},
             {"MessageAttributes", {{"n", {{"DataType", "String"}, {"StringValue", "v"}}}}}};
  auto prepared = PrepareMessage(entry, SendRules{}, "0");
  ASSERT_FALSE(prepared);
  EXPECT_EQ(prepared.error().code, "InvalidParameterValue");
}

TEST(MessageCodec, RendersWhatTheReceiverAskedFor) {
  auto prepared = PrepareMessage(json{{"MessageBody", "hi"},
                                      {"MessageAttributes",
                                       {{"app.x", {{"DataType", "String"}, {"StringValue", "1"}}},
                                        {"other", {{"DataType", "String"}, {"StringValue", "2"}}}}}},
                                 SendRules{}, "123");
  ASSERT_TRUE(prepared);
  async::LeasedMessage leased;
  leased.message.id = "id";
  leased.message.body = "hi";
  leased.message.attributes = prepared->message.attributes;
  leased.message.enqueued_ms = 1000;
  leased.message.receive_count = 2;
  leased.message.first_receive_ms = 2000;
  leased.receipt = "r";

  auto bare = RenderMessage(leased, ReceiveSelection::From({}, {}), "0");
  EXPECT_EQ(bare, (json{{"MessageId", "id"}, {"ReceiptHandle", "r"}, {"Body", "hi"}, {"MD5OfBody", Md5Hex("hi")}}));

  auto full = RenderMessage(leased, ReceiveSelection::From({"All"}, {"app.*"}), "0");
  EXPECT_EQ(full["Attributes"], (json{{"SenderId", "123"},
                                      {"SentTimestamp", "1000"},
                                      {"ApproximateReceiveCount", "2"},
                                      {"ApproximateFirstReceiveTimestamp", "2000"}}));
  EXPECT_EQ(full["MessageAttributes"], (json{{"app.x", {{"DataType", "String"}, {"StringValue", "1"}}}}));
  EXPECT_EQ(full["MD5OfMessageAttributes"], Md5OfAttributes({{"app.x", {"String", "1"}}}));

  auto some = RenderMessage(leased, ReceiveSelection::From({"ApproximateReceiveCount"}, {"All"}), "0");
  EXPECT_EQ(some["Attributes"], (json{{"ApproximateReceiveCount", "2"}}));
  EXPECT_EQ(some["MessageAttributes"].size(), 2u);
}

TEST(MessageCodec, RendersMessagesWrittenWithoutSqsMetadata) {
  async::LeasedMessage leased;
  leased.message.id = "id";
  leased.message.body = "raw";
  leased.message.attributes = "{\"other\":1}";
  auto out = RenderMessage(leased, ReceiveSelection::From({"SenderId"}, {"All"}), "000000000000");
  EXPECT_EQ(out["MD5OfBody"], Md5Hex("raw"));
  EXPECT_EQ(out["Attributes"]["SenderId"], "000000000000");
  EXPECT_FALSE(out.contains("MessageAttributes"));
}

}  // namespace
}  // namespace lambent::sqs

namespace lambent::sqs {
namespace {

TEST(MessageCodec, FifoMessagesNeedAGroupAndADeduplicationId) {
  SendRules fifo{.fifo = true};
  auto code_of = [](const json& entry, const SendRules& rules) {
    auto prepared = PrepareMessage(entry, rules, "0");
    return prepared ? std::string("ok") : prepared.error().code;
  };
  EXPECT_EQ(code_of(json{{"MessageBody", "x"}, {"MessageDeduplicationId", "d"}}, fifo), "MissingParameter");
  EXPECT_EQ(code_of(json{{"MessageBody", "x"}, {"MessageGroupId", "g"}}, fifo), "InvalidParameterValue");
  EXPECT_EQ(
      code_of(json{{"MessageBody", "x"}, {"MessageGroupId", "g"}, {"MessageDeduplicationId", "d"}, {"DelaySeconds", 1}},
              fifo),
      "InvalidParameterValue");
  EXPECT_EQ(code_of(json{{"MessageBody", "x"}, {"MessageGroupId", "g g"}, {"MessageDeduplicationId", "d"}}, fifo),
            "InvalidParameterValue");
  EXPECT_EQ(code_of(json{{"MessageBody", "x"}, {"MessageDeduplicationId", "d"}}, SendRules{}), "InvalidParameterValue");

  auto explicit_id =
      PrepareMessage(json{{"MessageBody", "x"}, {"MessageGroupId", "g"}, {"MessageDeduplicationId", "d"}}, fifo, "0");
  ASSERT_TRUE(explicit_id);
  EXPECT_EQ(explicit_id->message.group_id, "g");
  EXPECT_EQ(explicit_id->message.dedup_id, "d");
  auto by_content = PrepareMessage(json{{"MessageBody", "x"}, {"MessageGroupId", "g"}},
                                   SendRules{.fifo = true, .content_based_dedup = true}, "0");
  ASSERT_TRUE(by_content);
  EXPECT_EQ(by_content->message.dedup_id, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
}

TEST(MessageCodec, RendersFifoSystemAttributes) {
  async::LeasedMessage leased;
  leased.message.id = "id";
  leased.message.body = "b";
  leased.message.group_id = "g";
  leased.message.dedup_id = "d";
  leased.message.seq = 42;
  auto out = RenderMessage(leased, ReceiveSelection::From({"All"}, {}), "0", true);
  EXPECT_EQ(out["Attributes"]["SequenceNumber"], "42");
  EXPECT_EQ(out["Attributes"]["MessageGroupId"], "g");
  EXPECT_EQ(out["Attributes"]["MessageDeduplicationId"], "d");
}

}  // namespace
}  // namespace lambent::sqs
