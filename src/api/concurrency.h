#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

// Lambda's concurrency controls: reserved concurrency (/2017-10-31 and /2019-09-30
// .../concurrency), provisioned concurrency (/2019-09-30 .../provisioned-concurrency) and
// GetAccountSettings. The writes block (SQLite) and run on the control-plane workers; the
// reads of provisioned status ask the scheduler and run on the io thread, as marked.
namespace lambent::api {

http::Response PutFunctionConcurrency(ApiContext& context, const FunctionRef& ref,
                                      const http::Request& request);
http::Response GetFunctionConcurrency(ApiContext& context, const FunctionRef& ref);
http::Response DeleteFunctionConcurrency(ApiContext& context, const FunctionRef& ref);

// `ref.qualifier` is the Qualifier (a version or an alias).
http::Response PutProvisionedConcurrencyConfig(ApiContext& context, const FunctionRef& ref,
                                               const http::Request& request);
http::Response DeleteProvisionedConcurrencyConfig(ApiContext& context, const FunctionRef& ref);
// io thread only.
http::Response GetProvisionedConcurrencyConfig(ApiContext& context, const FunctionRef& ref);
// io thread only.
http::Response ListProvisionedConcurrencyConfigs(ApiContext& context, const FunctionRef& ref,
                                                 const RequestTarget& target);

http::Response GetAccountSettings(ApiContext& context);

}  // namespace lambent::api
