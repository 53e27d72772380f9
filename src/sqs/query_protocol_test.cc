#include "sqs/query_protocol.h"

#include <gtest/gtest.h>

namespace lambent::sqs {
namespace {

using nlohmann::json;

FormParams Decode(std::string_view text) {
  FormParams params;
  EXPECT_TRUE(DecodeForm(text, params)) << text;
  return params;
}

TEST(QueryProtocol, DecodesFormEncodingWithPlusAsSpace) {
  auto params = Decode("Action=SendMessage&MessageBody=hello+world%21%0A&Empty=&Flag");
  EXPECT_EQ(params["Action"], "SendMessage");
  EXPECT_EQ(params["MessageBody"], "hello world!\n");
  EXPECT_EQ(params["Empty"], "");
  EXPECT_EQ(params["Flag"], "");
}

TEST(QueryProtocol, RefusesABrokenEscape) {
  FormParams params;
  EXPECT_FALSE(DecodeForm("MessageBody=%4", params));
  EXPECT_FALSE(DecodeForm("MessageBody=%zz", params));
}

TEST(QueryProtocol, TurnsFlattenedMapsAndListsIntoTheJsonShape) {
  auto input = QueryInput("CreateQueue", Decode("Action=CreateQueue&QueueName=q&Attribute.2.Name=DelaySeconds"
                                                "&Attribute.2.Value=5&Attribute.1.Name=VisibilityTimeout"
                                                "&Attribute.1.Value=60&Tag.1.Key=team&Tag.1.Value=a"));
  EXPECT_EQ(input, (json{{"QueueName", "q"},
                         {"Attributes", {{"DelaySeconds", "5"}, {"VisibilityTimeout", "60"}}},
                         {"tags", {{"team", "a"}}}}));
  auto receive = QueryInput("ReceiveMessage", Decode("QueueUrl=u&AttributeName.1=All&MessageAttributeName.2=b"
                                                     "&MessageAttributeName.1=a&MaxNumberOfMessages=10"));
  EXPECT_EQ(receive["AttributeNames"], json::array({"All"}));
  EXPECT_EQ(receive["MessageAttributeNames"], json::array({"a", "b"}));
  EXPECT_EQ(receive["MaxNumberOfMessages"], "10");
}

TEST(QueryProtocol, TurnsBatchEntriesWithMessageAttributesIntoTheJsonShape) {
  auto input =
      QueryInput("SendMessageBatch",
                 Decode("QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x"
                        "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n"
                        "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
                        "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v"
                        "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y"));
  ASSERT_EQ(input["Entries"].size(), 2u);
  EXPECT_EQ(input["Entries"][0],
            (json{{"Id", "a"},
                  {"MessageBody", "x"},
                  {"MessageAttributes", {{"n", {{"DataType", "String"}, {"StringValue", "v"}}}}}}));
  EXPECT_EQ(input["Entries"][1]["Id"], "b");
}

TEST(QueryProtocol, SurvivesAParameterThatIsBothALeafAndAPrefix) {
  auto input = QueryInput("GetQueueAttributes", Decode("AttributeName=All&AttributeName.1=QueueArn&A.B=1&A=2"));
  EXPECT_EQ(input["AttributeNames"], json::array({"QueueArn"}));
}

TEST(QueryProtocol, EscapesXmlAndKeepsCarriageReturns) {
  EXPECT_EQ(XmlEscape("a<b>&\"'\r\n\tc"), "a&lt;b&gt;&amp;&quot;&apos;&#xD;\n\tc");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(XmlEscape("bad\xff\x01"), "bad\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(QueryProtocol, RendersFlattenedMembersAsSqsDoes) {
  json output{{"Messages",
               {{{"MessageId", "m"},
                 {"Body", "<hi>"},
                 {"Attributes", {{"SenderId", "1"}}},
                 {"MessageAttributes", {{"n", {{"DataType", "String"}, {"StringValue", "v"}}}}}}}}};
  std::string xml = XmlResponse("ReceiveMessage", output, "rid");
  EXPECT_EQ(xml,
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"
            "<ReceiveMessageResult><Message><Attribute><Name>SenderId</Name><Value>1</Value></Attribute>"
            "<Body>&lt;hi&gt;</Body><MessageAttribute><Name>n</Name><Value><DataType>String</DataType>"
            "<StringValue>v</StringValue></Value></MessageAttribute><MessageId>m</MessageId></Message>"
            "</ReceiveMessageResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
            "</ReceiveMessageResponse>");
}

TEST(QueryProtocol, RendersBatchResultsAndQueueLists) {
  std::string batch = XmlResponse(
      "DeleteMessageBatch",
      json{{"Successful", {{{"Id", "a"}}}},
           {"Failed", {{{"Id", "b"}, {"SenderFault", true}, {"Code", "ReceiptHandleIsInvalid"}, {"Message", "m"}}}}},
      "r");
  EXPECT_NE(batch.find("<DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>"), std::string::npos);
  EXPECT_NE(batch.find("<BatchResultErrorEntry><Code>ReceiptHandleIsInvalid</Code><Id>b</Id><Message>m</Message>"
                       "<SenderFault>true</SenderFault></BatchResultErrorEntry>"),
            std::string::npos);
  std::string list = XmlResponse("ListQueues", json{{"QueueUrls", {"u1", "u2"}}}, "r");
  EXPECT_NE(list.find("<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ListQueuesResult>"),
            std::string::npos);
}

TEST(QueryProtocol, AnswersWithoutAResultForOperationsThatHaveNone) {
  EXPECT_EQ(XmlResponse("DeleteQueue", json::object(), "r"),
            "<?xml version=\"1.0\"?><DeleteQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteQueueResponse>");
}

TEST(QueryProtocol, RendersErrorsAsSqsDoes) {
  EXPECT_EQ(XmlError(SqsError::NonExistentQueue(), "r"),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>"
            "<Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
            "<Message>The specified queue does not exist.</Message><Detail/></Error><RequestId>r</RequestId>"
            "</ErrorResponse>");
}

}  // namespace
}  // namespace lambent::sqs
