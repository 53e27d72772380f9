#include "api/usage.h"

#include "api/errors.h"
#include "base/json.h"
#include "metering/usage_query.h"

namespace lambent::api {

http::Response GetUsage(metering::Ledger& ledger, const RequestTarget& target, int64_t now_ms) {
  metering::UsageQuery query;
  for (auto [key, bound] :
       {std::pair{"since", &query.since_ms}, std::pair{"until", &query.until_ms}}) {
    auto text = target.Query(key);
    if (!text || text->empty()) continue;
    auto parsed = metering::ParseUsageTime(*text, now_ms);
    if (!parsed)
      return ErrorResponse(Error::Invalid(std::string(key) + ": " + parsed.error().message()));
    *bound = *parsed;
  }
  if (auto function = target.Query("function"); function && !function->empty()) {
    auto ref = ParseFunctionRef(*function);
    if (!ref) return ErrorResponse(ref.error());
    query.function = ref->name;
    query.version = ref->qualifier;
  }
  auto by = metering::ParseGrouping(target.Query("by").value_or(""));
  if (!by) return ErrorResponse(by.error());
  query.by = *by;
  auto prices = ledger.Prices();
  // The operator's file is wrong, not the request.
  if (!prices) return ErrorResponse(Error(ErrorCode::kSystem, prices.error().message()));
  auto report = ledger.Query(query);
  if (!report) return ErrorResponse(report.error());
  return http::MakeResponse(200, DumpJson(metering::UsageJson(query, *report, *prices)));
}

}  // namespace lambent::api
