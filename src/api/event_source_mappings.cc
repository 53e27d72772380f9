// Placeholder until event source mappings land.
#include "api/event_source_mappings.h"

#include "api/errors.h"

namespace lambent::api {

void RouteEventSourceMappings(ApiContext&, const RequestTarget&, http::Request&, http::Responder& respond) {
  respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
}

}  // namespace lambent::api
