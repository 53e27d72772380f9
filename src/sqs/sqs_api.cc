// Placeholder until the SQS API lands: claims nothing.
#include "sqs/sqs_api.h"

namespace lambent::sqs {

struct SqsApi::Impl {};

SqsApi::SqsApi(boost::asio::io_context&, async::QueueEngine&, SqsApiOptions) : impl_(std::make_unique<Impl>()) {}
SqsApi::~SqsApi() = default;
bool SqsApi::Claims(const http::RequestHeader&) { return false; }
uint64_t SqsApi::BodyLimit() const { return 1 << 20; }
void SqsApi::Handle(http::Request, http::Responder respond) { respond(http::MakeResponse(404, "{}")); }
void SqsApi::Stop() {}

}  // namespace lambent::sqs
