#include "api/functions.h"

#include <fstream>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "api/function_json.h"
#include "base/encoding.h"
#include "base/json.h"

namespace lambent::api {

using nlohmann::json;

namespace {

http::Response JsonResponse(unsigned status, const json& body) {
  return http::MakeResponse(status, DumpJson(body));
}

http::Response NotFound(const ApiContext& context, const FunctionRef& ref) {
  return ErrorResponse(Error::NotFound(
      fmt::format("Function not found: {}", context.FunctionArn(ref.name, ref.qualifier))));
}

// Only $LATEST exists until versions and aliases land.
registry::ConfigPtr Lookup(const ApiContext& context, const FunctionRef& ref) {
  if (!ref.qualifier.empty() && ref.qualifier != "$LATEST") return nullptr;
  return context.registry.Find(ref.name);
}

// Decodes and stores Code.ZipFile / ZipFile; S3 and images are not ours to fetch.
Result<code::PackageInfo> StoreZip(ApiContext& context, const json& code) {
  if (code.contains("S3Bucket") || code.contains("S3Key")) {
    return tl::unexpected(Error::Invalid(
        "lambent does not fetch code from S3: pass the package inline as ZipFile"));
  }
  if (code.contains("ImageUri")) {
    return tl::unexpected(Error::Invalid("Container image functions are not supported by lambent yet"));
  }
  auto zip = OptionalString(code, "ZipFile");
  if (!zip) return tl::unexpected(zip.error());
  if (!*zip) return tl::unexpected(Error::Invalid("Please provide a source for function code (ZipFile)."));
  auto bytes = Base64Decode(**zip);
  if (!bytes) {
    return tl::unexpected(Error::Invalid("Could not unzip uploaded file: ZipFile is not valid base64."));
  }
  return context.code.Put(*bytes);
}

// Lambda answers a stale RevisionId with 412, not the 409 of a concurrent update.
http::Response StaleRevision() {
  return ErrorResponse(412, "PreconditionFailedException",
                       "The Revision Id provided does not match the latest Revision Id. Call the "
                       "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

// A function whose runtime id names another interpreter version than this host's runs on the
// host's one: the daemon's log says so whenever such a runtime is set.
void WarnOfVersion(const ApiContext& context, const std::string& name, const std::string& runtime) {
  if (auto warning = context.catalog.VersionWarning(runtime)) {
    spdlog::warn("function {}: {}", name, *warning);
  }
}

void RetireOnIoThread(ApiContext& context, const std::string& name, registry::ConfigPtr latest) {
  boost::asio::post(context.io, [&context, name, latest = std::move(latest)] {
    context.scheduler.Retire(name, latest);
  });
}

}  // namespace

std::optional<http::Response> RefuseForeignRef(const ApiContext& context, const FunctionRef& ref) {
  switch (ScopeOf(ref, context.region, context.account_id)) {
    case RefScope::kThisAccount:
      return std::nullopt;
    case RefScope::kOtherRegion:
      return ErrorResponse(Error::Invalid(fmt::format(
          "Functions from '{}' are not reachable in this region ('{}')", ref.region, context.region)));
    case RefScope::kOtherAccount:
      break;
  }
  return ErrorResponse(
      403, "AccessDeniedException",
      fmt::format("User: arn:aws:iam::{}:root is not authorized to access {}: this lambent serves "
                  "account {} only",
                  context.account_id,
                  fmt::format("arn:aws:lambda:{}:{}:function:{}", context.region, ref.account, ref.name),
                  context.account_id));
}

tl::expected<json, http::Response> ParseJsonBody(const http::Request& request) {
  const std::string& body = request.body();
  // No control-plane document nests deeply; a hostile one would cost far more memory as a
  // DOM than as bytes, so it is refused before it is parsed.
  constexpr size_t kMaxDepth = 64;
  if (JsonNestsDeeperThan(body, kMaxDepth)) {
    return tl::unexpected(ErrorResponse(
        400, "InvalidRequestContentException",
        fmt::format("Could not parse request body into json: nesting deeper than {} levels", kMaxDepth)));
  }
  auto doc = json::parse(body.empty() ? std::string_view("{}") : std::string_view(body), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return tl::unexpected(ErrorResponse(400, "InvalidRequestContentException",
                                        "Could not parse request body into json: expected a JSON object"));
  }
  return doc;
}

http::Response CreateFunction(ApiContext& context, const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  auto name = OptionalString(*body, "FunctionName");
  if (!name) return ErrorResponse(name.error());
  if (!*name) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: "
        "Member must not be null"));
  }
  auto ref = ParseFunctionRef(**name);
  if (!ref) return ErrorResponse(ref.error());
  if (auto refused = RefuseForeignRef(context, *ref)) return std::move(*refused);
  auto fields = ParseConfigFields(*body, context.catalog);
  if (!fields) return ErrorResponse(fields.error());
  if (auto type = OptionalString(*body, "PackageType"); !type) {
    return ErrorResponse(type.error());
  } else if (*type && **type != "Zip") {
    return ErrorResponse(Error::Invalid("lambent runs PackageType Zip only (images are not supported yet)"));
  }
  if (auto publish = OptionalBool(*body, "Publish"); !publish) {
    return ErrorResponse(publish.error());
  } else if (publish->value_or(false)) {
    return ErrorResponse(Error::Invalid("Publishing versions is not supported by lambent yet"));
  }
  if (auto it = body->find("Architectures"); it != body->end() && !it->is_null()) {
    if (!it->is_array() || it->size() != 1 || *it != json::array({"x86_64"})) {
      return ErrorResponse(Error::Invalid("This lambent host runs the x86_64 architecture only"));
    }
  }
  auto tags = OptionalStringMap(*body, "Tags");
  if (!tags) return ErrorResponse(tags.error());
  if (!fields->runtime) {
    return ErrorResponse(Error::Invalid("Runtime is required for a .zip file archive"));
  }
  if (!fields->handler && !runtimes::Catalog::IsProvided(*fields->runtime)) {
    return ErrorResponse(Error::Invalid("Handler is required for the runtime " + *fields->runtime));
  }
  auto code_doc = body->find("Code");
  if (code_doc == body->end() || !code_doc->is_object()) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value null at 'code' failed to satisfy constraint: Member "
        "must not be null"));
  }
  // Cheap check first: a duplicate name should not cost an extraction.
  if (context.registry.Find(ref->name)) {
    return ErrorResponse(Error::Conflict("Function already exist: " + ref->name));
  }
  auto package = StoreZip(context, *code_doc);
  if (!package) return ErrorResponse(package.error());

  registry::FunctionConfig config;
  config.name = ref->name;
  config.role = fmt::format("arn:aws:iam::{}:role/lambent-execution", context.account_id);
  ApplyConfigFields(*fields, config);
  if (*tags) config.tags = **tags;
  config.code_key = package->sha256_hex;
  config.code_sha256 = package->sha256_base64;
  config.code_size = package->zip_size;
  auto created = context.registry.Create(std::move(config));
  if (!created) return ErrorResponse(created.error());
  WarnOfVersion(context, (*created)->name, (*created)->runtime);
  return JsonResponse(201, ConfigurationJson(context, **created));
}

http::Response GetFunction(ApiContext& context, const FunctionRef& ref, const std::string& host) {
  auto config = Lookup(context, ref);
  if (!config) return NotFound(context, ref);
  json body{{"Configuration", ConfigurationJson(context, *config)},
            {"Code",
             {{"RepositoryType", "S3"},
              {"Location", fmt::format("http://{}/lambent/v1/code/{}.zip", host, config->code_key)}}},
            {"Tags", config->tags}};
  // lambent's own part, which Lambda clients ignore: what actually runs the function here.
  if (const auto* family = context.catalog.FamilyOf(config->runtime)) {
    json host_runtime{{"Version", family->version}};
    if (!family->interpreter.empty()) host_runtime["Interpreter"] = family->interpreter;
    if (auto warning = context.catalog.VersionWarning(config->runtime)) host_runtime["Warning"] = *warning;
    body["HostRuntime"] = std::move(host_runtime);
  }
  return JsonResponse(200, body);
}

http::Response DownloadCode(ApiContext& context, const std::string& key) {
  auto info = context.code.Get(key);
  if (!info) return ErrorResponse(Error::NotFound("No code package " + key));
  std::ifstream in(info->zip, std::ios::binary);
  if (!in) return ErrorResponse(Error::NotFound("No code package " + key));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return http::MakeResponse(200, std::move(bytes), "application/zip");
}

http::Response GetFunctionConfiguration(ApiContext& context, const FunctionRef& ref) {
  auto config = Lookup(context, ref);
  if (!config) return NotFound(context, ref);
  return JsonResponse(200, ConfigurationJson(context, *config));
}

http::Response ListFunctions(ApiContext& context, const RequestTarget& target) {
  int max_items = 50;
  if (auto text = target.Query("MaxItems")) {
    char* end = nullptr;
    long value = std::strtol(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || value < 1 || value > 10000) {
      return ErrorResponse(Error::Invalid(
          "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member "
          "must have value between 1 and 10000"));
    }
    max_items = int(value);
  }
  // The marker is the name to resume at, opaque to clients.
  std::string marker;
  if (auto text = target.Query("Marker"); text && !text->empty()) {
    auto decoded = Base64Decode(*text);
    if (!decoded) return ErrorResponse(Error::Invalid("Invalid Marker"));
    marker = *decoded;
  }
  json functions = json::array();
  std::string next;
  for (const auto& config : context.registry.List()) {
    if (config->name < marker) continue;
    if (int(functions.size()) == max_items) {
      next = config->name;
      break;
    }
    functions.push_back(ConfigurationJson(context, *config));
  }
  json body{{"Functions", std::move(functions)}};
  if (!next.empty()) body["NextMarker"] = Base64Encode(next);
  return JsonResponse(200, body);
}

http::Response UpdateFunctionCode(ApiContext& context, const FunctionRef& ref,
                                  const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (!ref.qualifier.empty()) return NotFound(context, ref);
  auto revision = OptionalString(*body, "RevisionId");
  if (!revision) return ErrorResponse(revision.error());
  for (const char* flag : {"Publish", "DryRun"}) {
    auto value = OptionalBool(*body, flag);
    if (!value) return ErrorResponse(value.error());
    if (value->value_or(false)) {
      return ErrorResponse(Error::Invalid(fmt::format("{} is not supported by lambent yet", flag)));
    }
  }
  if (!context.registry.Find(ref.name)) return NotFound(context, ref);
  auto package = StoreZip(context, *body);
  if (!package) return ErrorResponse(package.error());
  // The revision is compared under the registry's lock, so a concurrent update cannot slip
  // between the check and the write.
  bool stale = false;
  auto updated = context.registry.Update(ref.name, "", [&](registry::FunctionConfig& c) -> Result<void> {
    if (*revision && **revision != c.revision_id) {
      stale = true;
      return tl::unexpected(Error::Conflict("stale revision"));
    }
    c.code_key = package->sha256_hex;
    c.code_sha256 = package->sha256_base64;
    c.code_size = package->zip_size;
    return Ok();
  });
  if (stale) return StaleRevision();
  if (!updated) {
    if (updated.error().code() == ErrorCode::kNotFound) return NotFound(context, ref);
    return ErrorResponse(updated.error());
  }
  RetireOnIoThread(context, ref.name, *updated);
  return JsonResponse(200, ConfigurationJson(context, **updated));
}

http::Response UpdateFunctionConfiguration(ApiContext& context, const FunctionRef& ref,
                                           const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (!ref.qualifier.empty()) return NotFound(context, ref);
  auto fields = ParseConfigFields(*body, context.catalog);
  if (!fields) return ErrorResponse(fields.error());
  bool stale = false;
  auto updated = context.registry.Update(
      ref.name, "", [&](registry::FunctionConfig& c) -> Result<void> {
        if (fields->revision_id && *fields->revision_id != c.revision_id) {
          stale = true;
          return tl::unexpected(Error::Conflict("stale revision"));
        }
        ApplyConfigFields(*fields, c);
        if (c.handler.empty() && !runtimes::Catalog::IsProvided(c.runtime)) {
          return tl::unexpected(Error::Invalid("Handler is required for the runtime " + c.runtime));
        }
        return Ok();
      });
  if (stale) return StaleRevision();
  if (!updated) {
    if (updated.error().code() == ErrorCode::kNotFound) return NotFound(context, ref);
    return ErrorResponse(updated.error());
  }
  if (fields->runtime) WarnOfVersion(context, ref.name, (*updated)->runtime);
  RetireOnIoThread(context, ref.name, *updated);
  return JsonResponse(200, ConfigurationJson(context, **updated));
}

http::Response DeleteFunction(ApiContext& context, const FunctionRef& ref) {
  if (!ref.qualifier.empty() && ref.qualifier != "$LATEST") return NotFound(context, ref);
  auto deleted = context.registry.Delete(ref.name);
  if (!deleted) {
    // Only an absent function is a 404; anything else (a full disk, say) left it in place.
    if (deleted.error().code() == ErrorCode::kNotFound) return NotFound(context, ref);
    return ErrorResponse(deleted.error());
  }
  // The function is gone for good now: its log and its package (unless another function uses
  // it; while an environment still runs from it, it goes when that one has stopped).
  context.logs.Remove(ref.name);
  context.code.Collect();
  RetireOnIoThread(context, ref.name, nullptr);
  return http::MakeResponse(204, "", "");
}

}  // namespace lambent::api
