#include "api/functions.h"

#include <cstdlib>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/common.h"
#include "api/errors.h"
#include "api/function_json.h"
#include "api/scheduler_updates.h"
#include "async/event_log.h"
#include "permissions/policy_store.h"
#include "urls/url_directory.h"
#include "base/encoding.h"
#include "base/json.h"

namespace lambent::api {

using nlohmann::json;

namespace {

http::Response NotFound(const ApiContext& context, const FunctionRef& ref) {
  return FunctionNotFound(context, ref.name, ref.qualifier);
}

// A configuration as a qualified name finds it, with the qualifier its FunctionArn carries.
struct Found {
  registry::ConfigPtr config;
  std::optional<std::string> arn_qualifier;
};

// $LATEST, a published version, or the version an alias points to (its primary one: the
// weighted additional version serves only invocations).
std::optional<Found> Lookup(const ApiContext& context, const FunctionRef& ref) {
  const std::string& q = ref.qualifier;
  registry::ConfigPtr config;
  if (q.empty()) {
    config = context.registry.Find(ref.name);
  } else if (q == "$LATEST" || IsVersionNumber(q)) {
    config = context.registry.FindVersion(ref.name, q);
  } else if (auto alias = context.registry.FindAlias(ref.name, q)) {
    config = context.registry.FindVersion(ref.name, alias->version);
  }
  if (!config) return std::nullopt;
  return Found{std::move(config), q.empty() ? std::nullopt : std::optional<std::string>(q)};
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

// An update's error as Lambda words it.
http::Response UpdateError(const ApiContext& context, const FunctionRef& ref, const Error& error) {
  if (error.code() == ErrorCode::kNotFound) return FunctionNotFound(context, ref.name);
  if (error.code() == ErrorCode::kPreconditionFailed) return StaleRevision();
  return ErrorResponse(error);
}

// A function whose runtime id names another interpreter version than this host's runs on the
// host's one: the daemon's log says so whenever such a runtime is set.
void WarnOfVersion(const ApiContext& context, const std::string& name, const std::string& runtime) {
  if (auto warning = context.catalog.VersionWarning(runtime)) {
    spdlog::warn("function {}: {}", name, *warning);
  }
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
  if (auto ok = CheckDeadLetterTarget(context, fields->dead_letter_arn.value_or("")); !ok) {
    return ErrorResponse(ok.error());
  }
  if (auto ok = CheckLoggingFields(*fields, registry::LoggingConfig{}); !ok) return ErrorResponse(ok.error());
  if (auto type = OptionalString(*body, "PackageType"); !type) {
    return ErrorResponse(type.error());
  } else if (*type && **type != "Zip") {
    return ErrorResponse(Error::Invalid("lambent runs PackageType Zip only (images are not supported yet)"));
  }
  auto publish = OptionalBool(*body, "Publish");
  if (!publish) return ErrorResponse(publish.error());
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
  auto created = context.registry.Create(std::move(config), publish->value_or(false));
  if (!created) return ErrorResponse(created.error());
  WarnOfVersion(context, (*created)->name, (*created)->runtime);
  // The logs API finds a function's lines under its LoggingConfig.LogGroup.
  context.logs.SetGroup((*created)->name, (*created)->logging.log_group);
  // Lambda answers with the version it published, under the function's unqualified ARN.
  return JsonResponse(201, ConfigurationJson(context, **created, ""));
}

http::Response GetFunction(ApiContext& context, const FunctionRef& ref, const std::string& host) {
  auto found = Lookup(context, ref);
  if (!found) return NotFound(context, ref);
  const auto& config = found->config;
  auto settings = context.registry.Settings(ref.name);
  if (!settings) return NotFound(context, ref);  // deleted meanwhile
  json body{{"Configuration", ConfigurationJson(context, *config, found->arn_qualifier)},
            {"Code",
             {{"RepositoryType", "S3"},
              {"Location", fmt::format("http://{}/lambent/v1/code/{}.zip", host, config->code_key)}}},
            {"Tags", settings->tags}};
  if (settings->reserved_concurrency) {
    body["Concurrency"] = {{"ReservedConcurrentExecutions", *settings->reserved_concurrency}};
  }
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
  auto found = Lookup(context, ref);
  if (!found) return NotFound(context, ref);
  return JsonResponse(200, ConfigurationJson(context, *found->config, found->arn_qualifier));
}

http::Response ListFunctions(ApiContext& context, const RequestTarget& target) {
  auto max_items = ParseMaxItems(target, 10000, 50);
  if (!max_items) return ErrorResponse(max_items.error());
  auto which = target.Query("FunctionVersion");
  if (which && *which != "ALL") {
    return ErrorResponse(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'functionVersion' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ALL]",
        *which)));
  }
  bool all_versions = which.has_value();
  // The marker is where to resume: a name, or with every version "name:version".
  auto marker = DecodeMarker(target);
  if (!marker) return ErrorResponse(marker.error());
  auto order = [](const std::string& version) -> long long {
    return version == "$LATEST" ? -1 : std::strtoll(version.c_str(), nullptr, 10);
  };
  std::string marker_name = *marker;
  long long marker_version = -1;
  if (all_versions) {
    if (auto colon = marker->rfind(':'); colon != std::string::npos) {
      marker_name = marker->substr(0, colon);
      marker_version = order(marker->substr(colon + 1));
    }
  }
  json functions = json::array();
  std::string next;
  for (const auto& latest : context.registry.List()) {
    if (latest->name < marker_name) continue;
    std::vector<registry::ConfigPtr> configs{latest};
    if (all_versions) {
      auto versions = context.registry.Versions(latest->name);
      if (!versions) continue;  // deleted meanwhile
      configs = std::move(*versions);
    }
    for (const auto& config : configs) {
      if (all_versions && config->name == marker_name && order(config->version) < marker_version) {
        continue;
      }
      if (int(functions.size()) == *max_items) {
        next = all_versions ? config->name + ":" + config->version : config->name;
        break;
      }
      // Listing every version, Lambda qualifies each ARN, $LATEST's too.
      functions.push_back(all_versions ? ConfigurationJson(context, *config, config->version)
                                       : ConfigurationJson(context, *config));
    }
    if (!next.empty()) break;
  }
  json body{{"Functions", std::move(functions)}};
  if (!next.empty()) body["NextMarker"] = EncodeMarker(next);
  return JsonResponse(200, body);
}

http::Response UpdateFunctionCode(ApiContext& context, const FunctionRef& ref,
                                  const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto revision = OptionalString(*body, "RevisionId");
  if (!revision) return ErrorResponse(revision.error());
  auto publish = OptionalBool(*body, "Publish");
  if (!publish) return ErrorResponse(publish.error());
  auto dry_run = OptionalBool(*body, "DryRun");
  if (!dry_run) return ErrorResponse(dry_run.error());
  if (dry_run->value_or(false)) {
    return ErrorResponse(Error::Invalid("DryRun is not supported by lambent yet"));
  }
  if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
  auto package = StoreZip(context, *body);
  if (!package) return ErrorResponse(package.error());
  // The revision is compared under the registry's lock, so a concurrent update cannot slip
  // between the check and the write.
  auto updated = context.registry.Update(
      ref.name, revision->value_or(""),
      [&](registry::FunctionConfig& c) -> Result<void> {
        c.code_key = package->sha256_hex;
        c.code_sha256 = package->sha256_base64;
        c.code_size = package->zip_size;
        return Ok();
      },
      publish->value_or(false));
  if (!updated) return UpdateError(context, ref, updated.error());
  // With Publish the answer is the new version; $LATEST changed all the same.
  PostRetire(context, ref.name, "$LATEST", context.registry.Find(ref.name));
  return JsonResponse(200, ConfigurationJson(context, **updated));
}

http::Response UpdateFunctionConfiguration(ApiContext& context, const FunctionRef& ref,
                                           const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto fields = ParseConfigFields(*body, context.catalog);
  if (!fields) return ErrorResponse(fields.error());
  if (auto ok = CheckDeadLetterTarget(context, fields->dead_letter_arn.value_or("")); !ok) {
    return ErrorResponse(ok.error());
  }
  auto updated = context.registry.Update(
      ref.name, fields->revision_id.value_or(""), [&](registry::FunctionConfig& c) -> Result<void> {
        if (auto ok = CheckLoggingFields(*fields, c.logging); !ok) return ok;
        ApplyConfigFields(*fields, c);
        if (c.handler.empty() && !runtimes::Catalog::IsProvided(c.runtime)) {
          return tl::unexpected(Error::Invalid("Handler is required for the runtime " + c.runtime));
        }
        return Ok();
      });
  if (!updated) return UpdateError(context, ref, updated.error());
  if (fields->runtime) WarnOfVersion(context, ref.name, (*updated)->runtime);
  if (fields->log_group) context.logs.SetGroup(ref.name, (*updated)->logging.log_group);
  PostRetire(context, ref.name, "$LATEST", *updated);
  return JsonResponse(200, ConfigurationJson(context, **updated));
}

http::Response DeleteFunction(ApiContext& context, const FunctionRef& ref) {
  if (ref.qualifier == "$LATEST") {
    return ErrorResponse(Error::Invalid("$LATEST version cannot be deleted without deleting the function."));
  }
  if (!ref.qualifier.empty()) {
    if (!IsVersionNumber(ref.qualifier)) {
      // An alias is not deleted through DeleteFunction (DeleteAlias does that).
      return ErrorResponse(Error::Invalid("Deletion of aliases is not supported."));
    }
    if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
    auto deleted = context.registry.DeleteVersion(ref.name, ref.qualifier);
    if (!deleted) {
      // Lambda answers 204 for a version that does not exist (any more).
      if (deleted.error().code() == ErrorCode::kNotFound && context.registry.Find(ref.name)) {
        return http::MakeResponse(204, "", "");
      }
      if (deleted.error().code() == ErrorCode::kNotFound) return FunctionNotFound(context, ref.name);
      return ErrorResponse(deleted.error());
    }
    PostRetire(context, ref.name, ref.qualifier, nullptr);
    PostProvisioned(context, ref.name);
    if (context.policies) {
      if (auto ok = context.policies->DeleteQualifier(ref.name, ref.qualifier); !ok) {
        spdlog::warn("the policy of {}:{} stays: {}", ref.name, ref.qualifier, ok.error().message());
      }
    }
    context.code.Collect();
    return http::MakeResponse(204, "", "");
  }
  auto deleted = context.registry.Delete(ref.name);
  if (!deleted) {
    // Only an absent function is a 404; anything else (a full disk, say) left it in place.
    if (deleted.error().code() == ErrorCode::kNotFound) return FunctionNotFound(context, ref.name);
    return ErrorResponse(deleted.error());
  }
  // The function is gone for good now: its log and its packages (unless another function uses
  // one; while an environment still runs from it, it goes when that one has stopped).
  context.logs.Remove(ref.name);
  if (context.event_log) context.event_log->Forget(ref.name);
  // Its URLs and policies go with it: a function made later under the name starts bare.
  if (context.urls) {
    if (auto ok = context.urls->DeleteFunction(ref.name); !ok) {
      spdlog::warn("the URLs of deleted function {} stay: {}", ref.name, ok.error().message());
    }
  }
  if (context.policies) {
    if (auto ok = context.policies->DeleteFunction(ref.name); !ok) {
      spdlog::warn("the policies of deleted function {} stay: {}", ref.name, ok.error().message());
    }
  }
  context.code.Collect();
  PostRetireFunction(context, ref.name);
  return http::MakeResponse(204, "", "");
}

}  // namespace lambent::api
