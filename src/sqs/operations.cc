#include "sqs/operations.h"

#include <set>

#include "sqs/sqs_message.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

bool IsBatchEntryId(const std::string& id) {
  if (id.empty() || id.size() > 80) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A queue URL's last path segment: "http://host/000000000000/orders" names "orders".
std::string QueueNameOfUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  size_t slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

}  // namespace

Operations::Operations(boost::asio::io_context& io, async::QueueEngine& engine, std::string region,
                       std::string account_id)
    : io_(io), engine_(engine), region_(std::move(region)), account_id_(std::move(account_id)), polls_(io, engine) {}

void Operations::Run(const std::string& operation, const json& input, const RequestContext& context, Done done) {
  if (!input.is_object()) return done(tl::unexpected(SqsError::MalformedRequest("The request must be a map.")));
  if (operation == "SendMessage") return SendMessage(input, context, std::move(done));
  if (operation == "SendMessageBatch") return SendMessageBatch(input, context, std::move(done));
  if (operation == "ReceiveMessage") return ReceiveMessage(input, context, std::move(done));
  using Handler = Outcome (Operations::*)(const json&, const RequestContext&);
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"CreateQueue", &Operations::CreateQueue},
      {"GetQueueUrl", &Operations::GetQueueUrl},
      {"ListQueues", &Operations::ListQueues},
      {"GetQueueAttributes", &Operations::GetQueueAttributes},
      {"SetQueueAttributes", &Operations::SetQueueAttributes},
      {"DeleteQueue", &Operations::DeleteQueue},
      {"PurgeQueue", &Operations::PurgeQueue},
      {"TagQueue", &Operations::TagQueue},
      {"UntagQueue", &Operations::UntagQueue},
      {"ListQueueTags", &Operations::ListQueueTags},
      {"ListDeadLetterSourceQueues", &Operations::ListDeadLetterSourceQueues},
      {"DeleteMessage", &Operations::DeleteMessage},
      {"DeleteMessageBatch", &Operations::DeleteMessageBatch},
      {"ChangeMessageVisibility", &Operations::ChangeMessageVisibility},
      {"ChangeMessageVisibilityBatch", &Operations::ChangeMessageVisibilityBatch},
  };
  auto it = kHandlers.find(operation);
  if (it == kHandlers.end()) return done(tl::unexpected(SqsError::InvalidAction(operation)));
  done((this->*(it->second))(input, context));
}

void Operations::Stop() { polls_.Stop(); }

Checked<Operations::Queue> Operations::FindQueue(const std::string& name) {
  // Names with another dot are lambent's own queues: no SQS call may see them.
  if (!IsValidQueueName(name)) return tl::unexpected(SqsError::NonExistentQueue());
  auto options = engine_.GetQueueOptions(name);
  if (!options) return tl::unexpected(SqsError::FromEngine(options.error()));
  Queue queue{name, {*options, QueueMetadata::FromJson(options->metadata)}};
  return queue;
}

Checked<Operations::Queue> Operations::ResolveQueue(const json& input, const RequestContext& context) {
  auto url = OptionalString(input, "QueueUrl");
  if (!url) return tl::unexpected(url.error());
  if ((!*url || (*url)->empty()) && context.path_queue.empty()) {
    return tl::unexpected(SqsError::MissingParameter("QueueUrl"));
  }
  return FindQueue(*url && !(*url)->empty() ? QueueNameOfUrl(**url) : context.path_queue);
}

AttributeContext Operations::Attributes() {
  return AttributeContext{region_, account_id_,
                          [this](const std::string& name) { return FindQueue(name).has_value(); }};
}

std::string Operations::Url(const RequestContext& context, const std::string& queue) const {
  return QueueUrl(context.base_url, account_id_, queue);
}

Checked<void> Operations::Save(const Queue& queue) {
  async::QueueOptions options = queue.settings.options;
  options.metadata = queue.settings.metadata.ToJson();
  auto ok = engine_.SetQueueOptions(queue.name, options);
  if (!ok) return tl::unexpected(SqsError::FromEngine(ok.error()));
  return {};
}

Checked<const json*> BatchEntries(const json& input) {
  auto it = input.find("Entries");
  // botocore's query serializer sends an empty list as a bare "Entries=".
  bool none = it == input.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty());
  if (none) return tl::unexpected(SqsError::EmptyBatchRequest());
  if (!it->is_array()) return tl::unexpected(SqsError::InvalidParameterValue("Entries must be a list."));
  if (it->empty()) return tl::unexpected(SqsError::EmptyBatchRequest());
  if (it->size() > size_t(kMaxBatchEntries)) return tl::unexpected(SqsError::TooManyEntriesInBatchRequest(it->size()));
  std::set<std::string> ids;
  for (const json& entry : *it) {
    if (!entry.is_object()) return tl::unexpected(SqsError::InvalidBatchEntryId());
    auto id = entry.find("Id");
    if (id == entry.end() || !id->is_string() || !IsBatchEntryId(id->get<std::string>())) {
      return tl::unexpected(SqsError::InvalidBatchEntryId());
    }
    if (!ids.insert(id->get<std::string>()).second) {
      return tl::unexpected(SqsError::BatchEntryIdsNotDistinct(id->get<std::string>()));
    }
  }
  return &*it;
}

}  // namespace lambent::sqs
