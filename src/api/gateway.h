#pragma once

#include "api/api_context.h"
#include "http/server.h"

namespace lambent::api {

// The daemon's HTTP front: routes Lambda API and lambent admin requests to their resource.
// Invocations run on the io thread; control-plane calls on the workers. Lives on the io
// thread; `context` must outlive it.
class Gateway : public http::Handler {
 public:
  explicit Gateway(ApiContext& context) : context_(context) {}

  uint64_t BodyLimit(const http::RequestHeader& header) const override;
  http::Response Reject(const http::RequestHeader& header, uint64_t limit) override;
  void Handle(http::Request request, http::Responder respond) override;

 private:
  // Runs `work` on the control-plane workers and sends what it returns.
  template <typename Work>
  void OnWorkers(http::Responder respond, Work work);
  // Answers through `respond`, or moves it on to whoever answers later. Throws only on a
  // bug; Handle() turns that into a 500.
  void Route(http::Request& request, http::Responder& respond);
  // Reserved and provisioned concurrency (the /2017-10-31 and /2019-09-30 paths).
  void RouteConcurrency(const struct RequestTarget& target, const struct FunctionRef& ref,
                        http::Request& request, http::Responder& respond);
  void HandleAdmin(const struct RequestTarget& target, const http::Request& request,
                   http::Responder& respond);

  ApiContext& context_;
};

}  // namespace lambent::api
