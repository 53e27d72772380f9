// The operations on messages (see operations.h).
#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>

#include "sqs/message_codec.h"
#include "sqs/operations.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

constexpr int64_t kMaxVisibilitySeconds = 43200;

json Failure(const std::string& id, const SqsError& error) {
  return json{{"Id", id}, {"SenderFault", error.sender_fault}, {"Code", error.code}, {"Message", error.message}};
}

std::string TextOf(const json& entry, const char* key) {
  auto it = entry.find(key);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

SendRules Operations::RulesFor(const Queue& queue) {
  SendRules rules{queue.settings.metadata.max_message_bytes, queue.settings.options.fifo,
                  queue.settings.metadata.content_based_dedup};
  if (rules.fifo) {
    auto now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    last_sequence_ = std::max(last_sequence_ + 1, uint64_t(now) * 1000);
    rules.sequence_number = last_sequence_;
  }
  return rules;
}

void Operations::SendMessage(const json& input, const RequestContext& context, Done done) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return done(tl::unexpected(queue.error()));
  auto prepared = PrepareMessage(input, RulesFor(*queue), account_id_);
  if (!prepared) return done(tl::unexpected(prepared.error()));
  std::vector<async::NewMessage> messages;
  messages.push_back(std::move(prepared->message));
  auto shared_done = std::make_shared<Done>(std::move(done));
  auto answer = std::make_shared<json>(std::move(prepared->answer));
  async::Completion completion{
      [ex = io_.get_executor()](std::function<void()> fn) { boost::asio::post(ex, std::move(fn)); },
      [shared_done, answer](Result<void> result) {
        if (!result) return (*shared_done)(tl::unexpected(SqsError::FromEngine(result.error())));
        (*shared_done)(std::move(*answer));
      }};
  auto ids = engine_.Append(queue->name, std::move(messages), std::move(completion));
  if (!ids) return (*shared_done)(tl::unexpected(SqsError::FromEngine(ids.error())));
  // The completion runs later, on the io thread: the id is in place by then.
  (*answer)["MessageId"] = ids->front();
}

void Operations::SendMessageBatch(const json& input, const RequestContext& context, Done done) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return done(tl::unexpected(queue.error()));
  auto entries = BatchEntries(input);
  if (!entries) return done(tl::unexpected(entries.error()));
  size_t total = 0;
  for (const json& entry : **entries) {
    std::string body = TextOf(entry, "MessageBody");
    auto attributes = ParseMessageAttributes(entry.contains("MessageAttributes") ? entry["MessageAttributes"] : json());
    total += MessageSize(body, attributes ? *attributes : MessageAttributes{});
  }
  if (total > kMaxMessageBytes) return done(tl::unexpected(SqsError::BatchRequestTooLong(total)));

  auto out = std::make_shared<json>(json{{"Successful", json::array()}, {"Failed", json::array()}});
  std::vector<async::NewMessage> messages;
  std::vector<json> answers;
  for (const json& entry : **entries) {
    std::string id = entry["Id"].get<std::string>();
    auto prepared = PrepareMessage(entry, RulesFor(*queue), account_id_);
    if (!prepared) {
      (*out)["Failed"].push_back(Failure(id, prepared.error()));
      continue;
    }
    prepared->answer["Id"] = id;
    messages.push_back(std::move(prepared->message));
    answers.push_back(std::move(prepared->answer));
  }
  if (messages.empty()) return done(std::move(*out));
  auto shared_done = std::make_shared<Done>(std::move(done));
  auto pending = std::make_shared<std::vector<json>>(std::move(answers));
  async::Completion completion{
      [ex = io_.get_executor()](std::function<void()> fn) { boost::asio::post(ex, std::move(fn)); },
      [shared_done, out, pending](Result<void> result) {
        for (json& answer : *pending) {
          if (result) {
            (*out)["Successful"].push_back(std::move(answer));
          } else {
            (*out)["Failed"].push_back(Failure(answer["Id"].get<std::string>(), SqsError::FromEngine(result.error())));
          }
        }
        (*shared_done)(std::move(*out));
      }};
  auto ids = engine_.Append(queue->name, std::move(messages), std::move(completion));
  if (!ids) return (*shared_done)(tl::unexpected(SqsError::FromEngine(ids.error())));
  for (size_t i = 0; i < ids->size() && i < pending->size(); ++i) (*pending)[i]["MessageId"] = (*ids)[i];
}

void Operations::ReceiveMessage(const json& input, const RequestContext& context, Done done) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return done(tl::unexpected(queue.error()));
  auto max = OptionalInt(input, "MaxNumberOfMessages", 1, kMaxBatchEntries);
  if (!max) return done(tl::unexpected(max.error()));
  auto visibility = OptionalInt(input, "VisibilityTimeout", 0, kMaxVisibilitySeconds);
  if (!visibility) return done(tl::unexpected(visibility.error()));
  auto wait = OptionalInt(input, "WaitTimeSeconds", 0, kMaxWaitSeconds);
  if (!wait) return done(tl::unexpected(wait.error()));
  auto system_names = StringList(input, "AttributeNames");
  if (!system_names) return done(tl::unexpected(system_names.error()));
  auto more_names = StringList(input, "MessageSystemAttributeNames");
  if (!more_names) return done(tl::unexpected(more_names.error()));
  auto attribute_names = StringList(input, "MessageAttributeNames");
  if (!attribute_names) return done(tl::unexpected(attribute_names.error()));
  system_names->insert(system_names->end(), more_names->begin(), more_names->end());

  auto shared_done = std::make_shared<Done>(std::move(done));
  auto selection = std::make_shared<ReceiveSelection>(ReceiveSelection::From(*system_names, *attribute_names));
  int count = *max ? int(**max) : 1;
  int64_t visibility_ms = *visibility ? **visibility * 1000 : -1;
  std::string name = queue->name;
  std::string sender = account_id_;
  bool fifo = queue->settings.options.fifo;
  auto parked = std::make_shared<bool>(false);
  auto attempt = [this, shared_done, selection, count, visibility_ms, name, sender, fifo, parked,
                  still_wanted = context.still_wanted]() -> bool {
    // A client that left while parked must not take messages it will never see.
    if (*parked && still_wanted && !still_wanted()) {
      (*shared_done)(json::object());
      return true;
    }
    // Runs from the event loop when parked: nothing may escape.
    try {
      auto leased = engine_.Lease(name, count, visibility_ms);
      if (!leased) {
        (*shared_done)(tl::unexpected(SqsError::FromEngine(leased.error())));
        return true;
      }
      if (leased->empty()) return false;
      json messages = json::array();
      for (const async::LeasedMessage& message : *leased) {
        messages.push_back(RenderMessage(message, *selection, sender, fifo));
      }
      (*shared_done)(json{{"Messages", std::move(messages)}});
    } catch (const std::exception&) {
      (*shared_done)(tl::unexpected(SqsError::Internal()));
    }
    return true;
  };
  if (attempt()) return;
  *parked = true;
  int64_t wait_s = *wait ? **wait : queue->settings.metadata.receive_wait_s;
  polls_.Park(name, std::chrono::seconds(wait_s), context.still_wanted, attempt,
              [shared_done] { (*shared_done)(json::object()); });
}

Outcome Operations::DeleteMessage(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto receipt = RequiredString(input, "ReceiptHandle");
  if (!receipt) return tl::unexpected(receipt.error());
  auto ok = engine_.Ack(queue->name, *receipt);
  if (ok) return json::object();
  if (ok.error().code() == ErrorCode::kInvalidArgument) {
    return tl::unexpected(SqsError::ReceiptHandleIsInvalid(*receipt));
  }
  // As SQS: deleting with the receipt of an ended lease (the message may be gone already)
  // succeeds; the queue itself was found above.
  if (ok.error().code() == ErrorCode::kNotFound) return json::object();
  return tl::unexpected(SqsError::FromEngine(ok.error()));
}

Outcome Operations::DeleteMessageBatch(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto entries = BatchEntries(input);
  if (!entries) return tl::unexpected(entries.error());
  json out{{"Successful", json::array()}, {"Failed", json::array()}};
  for (const json& entry : **entries) {
    std::string id = entry["Id"].get<std::string>();
    json single{{"QueueUrl", ""}, {"ReceiptHandle", entry.contains("ReceiptHandle") ? entry["ReceiptHandle"] : json()}};
    auto result = DeleteMessage(single, RequestContext{"", queue->name, {}});
    if (result) {
      out["Successful"].push_back(json{{"Id", id}});
    } else {
      out["Failed"].push_back(Failure(id, result.error()));
    }
  }
  return out;
}

Outcome Operations::ChangeMessageVisibility(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto receipt = RequiredString(input, "ReceiptHandle");
  if (!receipt) return tl::unexpected(receipt.error());
  auto timeout = OptionalInt(input, "VisibilityTimeout", 0, kMaxVisibilitySeconds);
  if (!timeout) return tl::unexpected(timeout.error());
  if (!*timeout) return tl::unexpected(SqsError::MissingParameter("VisibilityTimeout"));
  auto ok = engine_.ChangeVisibility(queue->name, *receipt, **timeout * 1000);
  if (ok) return json::object();
  if (ok.error().code() == ErrorCode::kInvalidArgument)
    return tl::unexpected(SqsError::ReceiptHandleIsInvalid(*receipt));
  if (ok.error().code() == ErrorCode::kNotFound) return tl::unexpected(SqsError::MessageNotInflight());
  return tl::unexpected(SqsError::FromEngine(ok.error()));
}

Outcome Operations::ChangeMessageVisibilityBatch(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto entries = BatchEntries(input);
  if (!entries) return tl::unexpected(entries.error());
  json out{{"Successful", json::array()}, {"Failed", json::array()}};
  for (const json& entry : **entries) {
    std::string id = entry["Id"].get<std::string>();
    json single = entry;
    single.erase("QueueUrl");
    single.erase("Id");
    auto result = ChangeMessageVisibility(single, RequestContext{"", queue->name, {}});
    if (result) {
      out["Successful"].push_back(json{{"Id", id}});
    } else {
      out["Failed"].push_back(Failure(id, result.error()));
    }
  }
  return out;
}

}  // namespace lambent::sqs
