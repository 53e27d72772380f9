#include "urls/payload_v2.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lambent::urls {
namespace {

using nlohmann::json;
namespace beast_http = http::beast_http;

http::Request MakeRequest(beast_http::verb method, const std::string& target, std::string body = {}) {
  http::Request request(method, target, 11);
  request.set(beast_http::field::host, "abc.lambda-url.us-east-1.localhost:9000");
  request.set(beast_http::field::user_agent, "curl/8");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

RequestContext Context() { return {"abc", "abc.lambda-url.us-east-1.localhost", "000000000000", "rid", "127.0.0.1", 1'764'590'400'123}; }

TEST(PayloadV2, AGetWithQueryHeadersAndCookies) {
  auto request = MakeRequest(beast_http::verb::get, "/shop/items?id=1&tag=a&tag=b%20c&flag");
  request.insert("X-Custom", "one");
  request.insert("x-custom", "two");
  request.set(beast_http::field::cookie, "session=s1; theme=dark");
  json event = json::parse(BuildEvent(request, "/shop/items", Context()));
  EXPECT_EQ(event["version"], "2.0");
  EXPECT_EQ(event["routeKey"], "$default");
  EXPECT_EQ(event["rawPath"], "/shop/items");
  EXPECT_EQ(event["rawQueryString"], "id=1&tag=a&tag=b%20c&flag");
  EXPECT_EQ(event["queryStringParameters"], json({{"id", "1"}, {"tag", "a,b c"}, {"flag", ""}}));
  EXPECT_EQ(event["headers"]["x-custom"], "one,two");
  EXPECT_EQ(event["headers"]["user-agent"], "curl/8");
  EXPECT_FALSE(event["headers"].contains("cookie"));
  EXPECT_EQ(event["cookies"], json({"session=s1", "theme=dark"}));
  const json& rc = event["requestContext"];
  EXPECT_EQ(rc["http"]["method"], "GET");
  EXPECT_EQ(rc["http"]["path"], "/shop/items");
  EXPECT_EQ(rc["http"]["protocol"], "HTTP/1.1");
  EXPECT_EQ(rc["http"]["sourceIp"], "127.0.0.1");
  EXPECT_EQ(rc["http"]["userAgent"], "curl/8");
  EXPECT_EQ(rc["requestId"], "rid");
  EXPECT_EQ(rc["domainPrefix"], "abc");
  EXPECT_EQ(rc["timeEpoch"], 1'764'590'400'123);
  EXPECT_EQ(rc["time"], "01/Dec/2025:12:00:00 +0000");
  EXPECT_FALSE(event.contains("body"));
  EXPECT_EQ(event["isBase64Encoded"], false);
}

TEST(PayloadV2, TextBodiesGoAsTheyAreAndBinaryOnesAsBase64) {
  auto text = MakeRequest(beast_http::verb::post, "/", R"({"a":1})");
  text.set(beast_http::field::content_type, "application/json");
  json event = json::parse(BuildEvent(text, "/", Context()));
  EXPECT_EQ(event["body"], R"({"a":1})");
  EXPECT_EQ(event["isBase64Encoded"], false);
  auto binary = MakeRequest(beast_http::verb::post, "/", std::string("\x89PNG\x00\x01", 6));
  binary.set(beast_http::field::content_type, "image/png");
  event = json::parse(BuildEvent(binary, "/", Context()));
  EXPECT_EQ(event["body"], "iVBORwAB");
  EXPECT_EQ(event["isBase64Encoded"], true);
}

TEST(PayloadV2, AStructuredResultSetsStatusHeadersCookiesAndBody) {
  auto response = ResultToResponse(
      R"({"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-A": "1"},
          "multiValueHeaders": {"X-B": ["2", "3"]}, "cookies": ["a=1; Path=/", "b=2"], "body": "made"})",
      false);
  EXPECT_EQ(response.result_int(), 201u);
  EXPECT_EQ(response[beast_http::field::content_type], "text/plain");
  EXPECT_EQ(response["X-A"], "1");
  EXPECT_EQ(std::distance(response.equal_range("X-B").first, response.equal_range("X-B").second), 2);
  EXPECT_EQ(std::distance(response.equal_range(beast_http::field::set_cookie).first,
                          response.equal_range(beast_http::field::set_cookie).second),
            2);
  EXPECT_EQ(response.body(), "made");
  auto binary = ResultToResponse(R"({"statusCode": 200, "body": "iVBORwAB", "isBase64Encoded": true})", false);
  EXPECT_EQ(binary.body(), std::string("\x89PNG\x00\x01", 6));
}

TEST(PayloadV2, HeadersWithLineBreaksAreLeftOut) {
  auto response = ResultToResponse(
      R"({"statusCode": 200, "headers": {"X-Bad": "a\r\nInjected: 1", "Bad\nName": "v", "X-Good": "ok"},
          "cookies": ["c=1\r\nX: y"], "body": ""})",
      false);
  EXPECT_EQ(response["X-Good"], "ok");
  EXPECT_EQ(response.count("X-Bad"), 0u);
  EXPECT_EQ(response.count(beast_http::field::set_cookie), 0u);
  for (const auto& field : response) EXPECT_EQ(std::string(field.name_string()).find('\n'), std::string::npos);
}

TEST(PayloadV2, AStreamPreludeGivesStatusHeadersAndCookies) {
  auto response = PreludeToResponse(R"({"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["a=1", "b=2"]})");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 201u);
  EXPECT_EQ((*response)["X-A"], "1");
  EXPECT_EQ((*response)[beast_http::field::content_type], "application/octet-stream");
  EXPECT_EQ(response->count(beast_http::field::set_cookie), 2u);
  auto empty = PreludeToResponse("{}");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->result_int(), 200u);
  EXPECT_FALSE(PreludeToResponse(R"({"statusCode": 42})"));
  EXPECT_FALSE(PreludeToResponse(R"({"statusCode": "200"})"));
  EXPECT_FALSE(PreludeToResponse("[1]"));
  EXPECT_FALSE(PreludeToResponse("not json"));
}

TEST(PayloadV2, ABareValueIsA200JsonBodyAndErrorsAre502) {
  auto bare = ResultToResponse(R"({"hello": "world"})", false);
  EXPECT_EQ(bare.result_int(), 200u);
  EXPECT_EQ(bare[beast_http::field::content_type], "application/json");
  EXPECT_EQ(bare.body(), R"({"hello": "world"})");
  EXPECT_EQ(ResultToResponse(R"("text")", false).body(), R"("text")");
  EXPECT_EQ(ResultToResponse(R"({"errorMessage": "boom"})", true).result_int(), 502u);
  EXPECT_EQ(ResultToResponse(R"({"statusCode": "x"})", false).result_int(), 502u);
  EXPECT_EQ(ResultToResponse("not json", false).result_int(), 502u);
}

TEST(PayloadV2, CorsPreflightsAreAnsweredFromTheConfig) {
  Cors cors;
  cors.allow_origins = {"https://app.example"};
  cors.allow_methods = {"GET", "POST"};
  cors.allow_headers = {"content-type"};
  cors.expose_headers = {"x-total"};
  cors.max_age = 300;
  auto request = MakeRequest(beast_http::verb::options, "/");
  request.set(beast_http::field::origin, "https://app.example");
  request.set(beast_http::field::access_control_request_method, "POST");
  auto answer = Preflight(cors, request);
  ASSERT_TRUE(answer);
  EXPECT_EQ((*answer)[beast_http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ((*answer)[beast_http::field::access_control_allow_methods], "GET,POST");
  EXPECT_EQ((*answer)[beast_http::field::access_control_max_age], "300");
  request.set(beast_http::field::origin, "https://evil.example");
  EXPECT_EQ((*Preflight(cors, request))[beast_http::field::access_control_allow_origin], "");
  auto get = MakeRequest(beast_http::verb::get, "/");
  EXPECT_FALSE(Preflight(cors, get));
  get.set(beast_http::field::origin, "https://app.example");
  http::Response response = http::MakeResponse(200, "{}");
  AddCorsHeaders(cors, get, response);
  EXPECT_EQ(response[beast_http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ(response[beast_http::field::access_control_expose_headers], "x-total");
}

}  // namespace
}  // namespace lambent::urls
