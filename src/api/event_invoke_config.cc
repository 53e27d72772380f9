// Placeholder until event invoke configs land.
#include "api/event_invoke_config.h"

#include "api/errors.h"

namespace lambent::api {

void RouteEventInvokeConfig(ApiContext&, const RequestTarget&, const FunctionRef&, http::Request&,
                            http::Responder& respond) {
  respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
}

void ListAsyncEvents(ApiContext&, const RequestTarget&, const std::string&, http::Responder& respond) {
  respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
}

}  // namespace lambent::api
