// `lambent queue ...`: a user's everyday work with the daemon's SQS-compatible queues. Each
// command speaks the SQS JSON protocol (X-Amz-Target: AmazonSQS.*) to the daemon's endpoint,
// as any SDK would, and names queues by name (looked up with GetQueueUrl).
#include <algorithm>
#include <ctime>
#include <iostream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cli/api_client.h"
#include "cli/commands.h"

namespace lambent::cli {

using http::beast_http::verb;
using nlohmann::json;

namespace {

constexpr int kMaxPerReceive = 10;  // SQS's MaxNumberOfMessages limit

// The answer to one SQS call: its document, or the exit code when it failed (already
// printed).
using SqsResult = std::variant<json, int>;

// Prints an SQS error ("com.amazonaws.sqs#QueueDoesNotExist" and its message) the way the
// other commands print API errors.
int SqsFailed(const http::Response& response) {
  auto doc = json::parse(response.body(), nullptr, false);
  std::string type = doc.is_object() ? doc.value("__type", "") : "";
  if (auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  std::string message = doc.is_object() ? doc.value("message", doc.value("Message", "")) : "";
  if (message.empty()) message = fmt::format("HTTP {}", response.result_int());
  std::cerr << fmt::format("lambent: {}{}{}\n", type, type.empty() ? "" : ": ", message);
  return 1;
}

SqsResult Call(const std::string& endpoint, const std::string& operation, const json& input) {
  auto call = Request(
      endpoint, verb::post, "/", DumpJson(input),
      {{"Content-Type", "application/x-amz-json-1.0"}, {"X-Amz-Target", "AmazonSQS." + operation}});
  if (!call.reached) return 2;
  if (!Ok(call.response)) return SqsFailed(call.response);
  auto doc = json::parse(call.response.body(), nullptr, false);
  return doc.is_object() ? doc : json::object();
}

bool IsMissingQueue(const http::Response& response) {
  auto doc = json::parse(response.body(), nullptr, false);
  return doc.is_object() && doc.value("__type", "").ends_with("#QueueDoesNotExist");
}

// The URL of queue `name`, or the exit code; says plainly when there is no such queue.
std::variant<std::string, int> QueueUrl(const std::string& endpoint, const std::string& name) {
  auto call = Request(
      endpoint, verb::post, "/", DumpJson(json{{"QueueName", name}}),
      {{"Content-Type", "application/x-amz-json-1.0"}, {"X-Amz-Target", "AmazonSQS.GetQueueUrl"}});
  if (!call.reached) return 2;
  if (IsMissingQueue(call.response)) {
    std::cerr << fmt::format(
        "lambent: there is no queue named {} (`lambent queue ls` lists them, `lambent queue "
        "create {}` makes it)\n",
        name, name);
    return 1;
  }
  if (!Ok(call.response)) return SqsFailed(call.response);
  auto doc = json::parse(call.response.body(), nullptr, false);
  std::string url = doc.is_object() ? doc.value("QueueUrl", "") : "";
  if (url.empty()) {
    std::cerr << "lambent: the daemon did not give the queue's URL\n";
    return 1;
  }
  return url;
}

// The last path segment of a queue URL or the last field of an ARN: the queue's name.
std::string NameOf(std::string_view url_or_arn) {
  auto cut = url_or_arn.find_last_of("/:");
  return std::string(cut == std::string_view::npos ? url_or_arn : url_or_arn.substr(cut + 1));
}

std::string Attribute(const json& attributes, const char* key) {
  auto it = attributes.find(key);
  return it != attributes.end() && it->is_string() ? it->get<std::string>() : "";
}

// "1h 30m", "45s": a number of seconds as people read it.
std::string Duration(const std::string& seconds_text) {
  long seconds = 0;
  try {
    seconds = std::stol(seconds_text);
  } catch (...) {
    return seconds_text;
  }
  if (seconds < 60 || seconds % 60 != 0) return fmt::format("{}s", seconds);
  if (seconds < 3600 || seconds % 3600 != 0) return fmt::format("{}m", seconds / 60);
  if (seconds < 86400 || seconds % 86400 != 0) return fmt::format("{}h", seconds / 3600);
  return fmt::format("{}d", seconds / 86400);
}

bool IsFifo(std::string_view name) { return name.ends_with(".fifo"); }

// A fresh deduplication id: without one (and without content-based deduplication) SQS
// refuses a FIFO send, and a user's plain `send` means a new message each time.
std::string RandomId() {
  std::random_device device;
  std::uniform_int_distribution<int> nibble(0, 15);
  std::string id;
  for (int i = 0; i < 32; ++i) id += "0123456789abcdef"[nibble(device)];
  return id;
}

int CreateQueue(const std::string& endpoint, const QueueOptions& o) {
  json attributes = json::object();
  if (IsFifo(o.name)) attributes["FifoQueue"] = "true";
  if (o.content_dedup) {
    if (!IsFifo(o.name)) {
      std::cerr << "lambent: --content-dedup is for FIFO queues, whose names end in .fifo\n";
      return 2;
    }
    attributes["ContentBasedDeduplication"] = "true";
  }
  if (o.visibility_timeout) attributes["VisibilityTimeout"] = std::to_string(*o.visibility_timeout);
  if (o.delay) attributes["DelaySeconds"] = std::to_string(*o.delay);
  if (o.retention) attributes["MessageRetentionPeriod"] = std::to_string(*o.retention);
  if (!o.dlq.empty()) {
    if (o.dlq == o.name) {
      std::cerr << "lambent: a queue cannot be its own dead-letter queue\n";
      return 2;
    }
    auto dlq_url = QueueUrl(endpoint, o.dlq);
    if (auto* code = std::get_if<int>(&dlq_url)) {
      if (*code == 1) std::cerr << "lambent: create the dead-letter queue first\n";
      return *code;
    }
    auto got =
        Call(endpoint, "GetQueueAttributes",
             {{"QueueUrl", std::get<std::string>(dlq_url)}, {"AttributeNames", {"QueueArn"}}});
    if (auto* code = std::get_if<int>(&got)) return *code;
    std::string arn =
        Attribute(std::get<json>(got).value("Attributes", json::object()), "QueueArn");
    if (arn.empty()) {
      std::cerr << "lambent: the daemon did not give the dead-letter queue's ARN\n";
      return 1;
    }
    attributes["RedrivePolicy"] = DumpJson(
        {{"deadLetterTargetArn", arn}, {"maxReceiveCount", std::to_string(o.max_receive_count)}});
  }
  json input{{"QueueName", o.name}};
  if (!attributes.empty()) input["Attributes"] = attributes;
  auto created = Call(endpoint, "CreateQueue", input);
  if (auto* code = std::get_if<int>(&created)) return *code;
  std::string url = std::get<json>(created).value("QueueUrl", "");
  std::cout << fmt::format("created {} ({})", o.name, url);
  if (!o.dlq.empty()) {
    std::cout << fmt::format(": after {} receive{} without a delete, a message moves to {}",
                             o.max_receive_count, o.max_receive_count == 1 ? "" : "s", o.dlq);
  }
  std::cout << "\n";
  return 0;
}

int ListQueues(const std::string& endpoint, const QueueOptions& o) {
  std::vector<std::string> urls;
  std::string token;
  do {
    json input{{"MaxResults", 1000}};
    if (!token.empty()) input["NextToken"] = token;
    auto page = Call(endpoint, "ListQueues", input);
    if (auto* code = std::get_if<int>(&page)) return *code;
    auto& doc = std::get<json>(page);
    for (const auto& url : doc.value("QueueUrls", json::array())) {
      if (url.is_string()) urls.push_back(url.get<std::string>());
    }
    token = doc.value("NextToken", "");
  } while (!token.empty());

  json all = json::array();
  for (const auto& url : urls) {
    auto got =
        Call(endpoint, "GetQueueAttributes", {{"QueueUrl", url}, {"AttributeNames", {"All"}}});
    // A queue deleted since the listing is simply not shown.
    json attributes = std::holds_alternative<json>(got)
                          ? std::get<json>(got).value("Attributes", json::object())
                          : json::object();
    all.push_back({{"QueueName", NameOf(url)}, {"QueueUrl", url}, {"Attributes", attributes}});
  }
  if (o.json_output) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  if (all.empty()) {
    std::cerr << "no queues (`lambent queue create NAME` makes one)\n";
    return 0;
  }
  size_t width = 4;
  for (const auto& q : all) width = std::max(width, q["QueueName"].get<std::string>().size());
  std::cout << fmt::format("{:<{}}  {:>8}  {:>9}  {:>7}  {}\n", "NAME", width, "MESSAGES",
                           "IN FLIGHT", "DELAYED", "DEAD LETTERS TO");
  for (const auto& q : all) {
    const json& a = q["Attributes"];
    std::string dlq;
    if (auto policy = json::parse(Attribute(a, "RedrivePolicy"), nullptr, false);
        policy.is_object()) {
      dlq = NameOf(policy.value("deadLetterTargetArn", ""));
    }
    std::cout << fmt::format("{:<{}}  {:>8}  {:>9}  {:>7}  {}\n", q["QueueName"].get<std::string>(),
                             width, Attribute(a, "ApproximateNumberOfMessages"),
                             Attribute(a, "ApproximateNumberOfMessagesNotVisible"),
                             Attribute(a, "ApproximateNumberOfMessagesDelayed"),
                             dlq.empty() ? "-" : dlq);
  }
  return 0;
}

int SendMessage(const std::string& endpoint, const QueueOptions& o) {
  std::string body = o.body;
  if (body == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (body.empty()) {
    std::cerr << "lambent: the message is empty: SQS messages need at least one character\n";
    return 2;
  }
  json attributes = json::object();
  for (const auto& kv : o.attributes) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "lambent: --attr wants KEY=VALUE, got '" << kv << "'\n";
      return 2;
    }
    attributes[kv.substr(0, eq)] = {{"DataType", "String"}, {"StringValue", kv.substr(eq + 1)}};
  }
  auto url = QueueUrl(endpoint, o.name);
  if (auto* code = std::get_if<int>(&url)) return *code;
  json input{{"QueueUrl", std::get<std::string>(url)}, {"MessageBody", body}};
  if (!attributes.empty()) input["MessageAttributes"] = attributes;
  if (o.delay) input["DelaySeconds"] = *o.delay;
  if (!o.group.empty()) input["MessageGroupId"] = o.group;
  if (!o.dedup_id.empty()) input["MessageDeduplicationId"] = o.dedup_id;
  if (IsFifo(o.name)) {
    if (o.group.empty()) input["MessageGroupId"] = "default";
    if (o.dedup_id.empty()) {
      auto got = Call(endpoint, "GetQueueAttributes",
                      {{"QueueUrl", std::get<std::string>(url)},
                       {"AttributeNames", {"ContentBasedDeduplication"}}});
      if (auto* code = std::get_if<int>(&got)) return *code;
      json a = std::get<json>(got).value("Attributes", json::object());
      if (Attribute(a, "ContentBasedDeduplication") != "true")
        input["MessageDeduplicationId"] = RandomId();
    }
  }
  auto sent = Call(endpoint, "SendMessage", input);
  if (auto* code = std::get_if<int>(&sent)) return *code;
  std::cout << std::get<json>(sent).value("MessageId", "") << "\n";
  return 0;
}

int ReadMessages(const std::string& endpoint, const QueueOptions& o) {
  auto url_or_code = QueueUrl(endpoint, o.name);
  if (auto* code = std::get_if<int>(&url_or_code)) return *code;
  const std::string& url = std::get<std::string>(url_or_code);
  json read = json::array();
  // Only the first receive waits: once messages come, reading stops at the first empty one.
  int wait = o.wait;
  while (static_cast<int>(read.size()) < o.max) {
    json input{
        {"QueueUrl", url},
        {"MaxNumberOfMessages", std::min(kMaxPerReceive, o.max - static_cast<int>(read.size()))},
        {"WaitTimeSeconds", wait},
        {"MessageAttributeNames", {"All"}},
        {"AttributeNames", {"All"}},
        {"MessageSystemAttributeNames", {"All"}}};
    auto got = Call(endpoint, "ReceiveMessage", input);
    if (auto* code = std::get_if<int>(&got)) return *code;
    json messages = std::get<json>(got).value("Messages", json::array());
    if (!messages.is_array() || messages.empty()) break;
    if (!o.keep) {
      json entries = json::array();
      for (size_t i = 0; i < messages.size(); ++i) {
        entries.push_back(
            {{"Id", std::to_string(i)}, {"ReceiptHandle", messages[i].value("ReceiptHandle", "")}});
      }
      auto deleted =
          Call(endpoint, "DeleteMessageBatch", {{"QueueUrl", url}, {"Entries", entries}});
      if (auto* code = std::get_if<int>(&deleted)) return *code;
      if (auto failed = std::get<json>(deleted).value("Failed", json::array()); !failed.empty()) {
        std::cerr << fmt::format("lambent: {} message{} could not be deleted and will come back\n",
                                 failed.size(), failed.size() == 1 ? "" : "s");
      }
    }
    for (auto& m : messages) read.push_back(std::move(m));
    wait = 0;
  }
  if (o.json_output) {
    std::cout << read.dump(2) << "\n";
    return 0;
  }
  if (read.empty()) {
    std::cerr << fmt::format("no messages in {}\n", o.name);
    return 0;
  }
  for (const auto& m : read) {
    // A body piped in with `echo` already ends its line; --json shows bodies exactly.
    std::string body = m.value("Body", "");
    std::cout << body << (body.ends_with('\n') ? "" : "\n");
  }
  return 0;
}

int PurgeQueue(const std::string& endpoint, const QueueOptions& o) {
  auto url = QueueUrl(endpoint, o.name);
  if (auto* code = std::get_if<int>(&url)) return *code;
  auto purged = Call(endpoint, "PurgeQueue", {{"QueueUrl", std::get<std::string>(url)}});
  if (auto* code = std::get_if<int>(&purged)) return *code;
  std::cout << fmt::format("purged {}: every message in it is deleted\n", o.name);
  return 0;
}

int DeleteQueue(const std::string& endpoint, const QueueOptions& o) {
  auto url = QueueUrl(endpoint, o.name);
  if (auto* code = std::get_if<int>(&url)) return *code;
  auto deleted = Call(endpoint, "DeleteQueue", {{"QueueUrl", std::get<std::string>(url)}});
  if (auto* code = std::get_if<int>(&deleted)) return *code;
  std::cout << fmt::format("deleted {} with its messages\n", o.name);
  return 0;
}

int ShowStats(const std::string& endpoint, const QueueOptions& o) {
  auto url = QueueUrl(endpoint, o.name);
  if (auto* code = std::get_if<int>(&url)) return *code;
  auto got = Call(endpoint, "GetQueueAttributes",
                  {{"QueueUrl", std::get<std::string>(url)}, {"AttributeNames", {"All"}}});
  if (auto* code = std::get_if<int>(&got)) return *code;
  json a = std::get<json>(got).value("Attributes", json::object());
  if (o.json_output) {
    std::cout << json{{"QueueUrl", std::get<std::string>(url)}, {"Attributes", a}}.dump(2) << "\n";
    return 0;
  }
  auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) std::cout << fmt::format("{:<20} {}\n", label, value);
  };
  line("queue", o.name);
  line("url", std::get<std::string>(url));
  line("arn", Attribute(a, "QueueArn"));
  line("messages", Attribute(a, "ApproximateNumberOfMessages"));
  line("in flight", Attribute(a, "ApproximateNumberOfMessagesNotVisible"));
  line("delayed", Attribute(a, "ApproximateNumberOfMessagesDelayed"));
  line("visibility timeout", Duration(Attribute(a, "VisibilityTimeout")));
  line("delay", Duration(Attribute(a, "DelaySeconds")));
  line("retention", Duration(Attribute(a, "MessageRetentionPeriod")));
  line("max message size", Attribute(a, "MaximumMessageSize") + " bytes");
  if (auto policy = json::parse(Attribute(a, "RedrivePolicy"), nullptr, false);
      policy.is_object()) {
    auto count = policy.value("maxReceiveCount", json());
    line("dead letters to",
         fmt::format("{} after {} receives", NameOf(policy.value("deadLetterTargetArn", "")),
                     count.is_string() ? count.get<std::string>() : count.dump()));
  }
  if (std::string created = Attribute(a, "CreatedTimestamp"); !created.empty()) {
    try {
      std::time_t t = std::stol(created);
      char text[32];
      if (std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t))) {
        line("created", text);
      }
    } catch (...) {
      line("created", created);
    }
  }
  return 0;
}

}  // namespace

CLI::App* AddQueueCommand(CLI::App& app, QueueOptions& o) {
  auto* queue = app.add_subcommand(
      "queue",
      "create, list, send to, read from, purge and delete the daemon's SQS-compatible queues");
  queue->require_subcommand(1);
  auto action = [&o, queue](const char* word, const char* description, bool needs_name) {
    auto* cmd = queue->add_subcommand(word, description);
    if (needs_name) cmd->add_option("name", o.name, "the queue's name")->required();
    cmd->callback([&o, word] { o.action = word; });
    return cmd;
  };

  auto* create =
      action("create",
             "create a queue (nothing changes if it exists with these settings); a name ending in "
             ".fifo makes a FIFO queue",
             true);
  create
      ->add_option(
          "--visibility-timeout", o.visibility_timeout,
          "seconds a read message stays hidden before it comes back unless deleted (0-43200, "
          "default 30)")
      ->check(CLI::Range(0, 43200));
  create
      ->add_option("--delay", o.delay,
                   "seconds each new message waits before it can be read (0-900)")
      ->check(CLI::Range(0, 900));
  create
      ->add_option(
          "--retention", o.retention,
          "seconds a message is kept before it expires (60-1209600, default 345600: 4 days)")
      ->check(CLI::Range(60, 1209600));
  auto* dlq = create->add_option(
      "--dlq", o.dlq,
      "a dead-letter queue (it must exist) for messages read --max-receive-count "
      "times without being deleted");
  create
      ->add_option("--max-receive-count", o.max_receive_count,
                   "with --dlq: reads before a message moves there (1-1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000))
      ->needs(dlq);
  create->add_flag(
      "--content-dedup", o.content_dedup,
      "FIFO queues (NAME.fifo): a message with the same body as one sent in the last 5 "
      "minutes is dropped");

  auto* ls = action("ls", "list queues with their message counts", false);
  ls->add_flag("--json", o.json_output, "print each queue's URL and attributes as JSON");

  auto* send = action("send", "send one message; prints its message id", true);
  send->add_option("body", o.body, "the message, or - to read it from stdin")->required();
  send->add_option("--attr", o.attributes, "KEY=VALUE: a String message attribute, repeatable");
  send->add_option("--delay", o.delay, "seconds before it can be read (0-900; standard queues)")
      ->check(CLI::Range(0, 900));
  send->add_option(
      "--group", o.group,
      "the message group: FIFO queues deliver each group in order (default: \"default\")");
  send->add_option(
      "--dedup-id", o.dedup_id,
      "FIFO queues: a second message with this id within 5 minutes is dropped (default: a new "
      "id each send, or the body's hash with --content-dedup)");

  auto* read = action(
      "read", "read messages and print their bodies, one per line (deleting them, unless --keep)",
      true);
  read->add_option("--max", o.max, "read at most N messages")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  read->add_option("--wait", o.wait,
                   "seconds to wait for a first message when the queue is empty (0-20)")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  auto* del = read->add_flag("--delete")->description("delete what was read (the default)");
  auto* keep = read->add_flag(
      "--keep", o.keep,
      "leave what was read on the queue: it comes back after the visibility timeout");
  keep->excludes(del);
  read->add_flag("--json", o.json_output,
                 "print the whole messages (id, receipt handle, body, attributes) as JSON");

  action("purge", "delete every message in a queue, keeping the queue", true);
  action("rm", "delete a queue and its messages", true);
  auto* stats = action("stats", "show a queue's message counts and settings", true);
  stats->add_flag("--json", o.json_output, "print its URL and attributes as JSON");
  return queue;
}

int Queue(const std::string& endpoint, const QueueOptions& options) {
  if (options.action == "create") return CreateQueue(endpoint, options);
  if (options.action == "ls") return ListQueues(endpoint, options);
  if (options.action == "send") return SendMessage(endpoint, options);
  if (options.action == "read") return ReadMessages(endpoint, options);
  if (options.action == "purge") return PurgeQueue(endpoint, options);
  if (options.action == "rm") return DeleteQueue(endpoint, options);
  if (options.action == "stats") return ShowStats(endpoint, options);
  std::cerr << "lambent: queue wants one of create, ls, send, read, purge, rm, stats\n";
  return 2;
}

}  // namespace lambent::cli
