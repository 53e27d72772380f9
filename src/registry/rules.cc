#include "registry/rules.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace lambent::registry {
namespace {

constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagKeyChars = 128;
constexpr size_t kMaxTagValueChars = 256;
constexpr size_t kMaxAliasNameChars = 128;

// Characters, not bytes: Lambda's tag limits count Unicode characters.
size_t Utf8Length(std::string_view text) {
  return size_t(std::count_if(text.begin(), text.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

}  // namespace

Error FunctionNotFound(std::string_view name) {
  return Error::NotFound(fmt::format("Function not found: {}", name));
}
Error QualifiedNotFound(std::string_view name, std::string_view qualifier) {
  return Error::NotFound(fmt::format("Function not found: {}:{}", name, qualifier));
}
Error AliasNotFound(std::string_view name, std::string_view alias) {
  return Error::NotFound(fmt::format("Cannot find alias arn: {}:{}", name, alias));
}
Error StaleRevision() {
  return Error::PreconditionFailed(
      "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
      "GetAlias API to retrieve the latest Revision Id");
}
Result<void> CheckRevision(std::string_view expected, std::string_view current) {
  if (!expected.empty() && expected != current) return tl::unexpected(StaleRevision());
  return Ok();
}

bool IsLatest(std::string_view qualifier) { return qualifier.empty() || qualifier == kLatest; }

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

int VersionNumber(std::string_view qualifier) {
  if (!AllDigits(qualifier) || qualifier[0] == '0') return 0;
  int n = 0;
  auto [end, ec] = std::from_chars(qualifier.data(), qualifier.data() + qualifier.size(), n);
  return ec == std::errc() && end == qualifier.data() + qualifier.size() ? n : 0;
}

Result<void> ValidateTags(const std::map<std::string, std::string>& tags) {
  if (tags.size() > kMaxTags) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "Number of tags exceeds resource tag limit: a function has at most {} tags.", kMaxTags)));
  }
  for (const auto& [key, value] : tags) {
    size_t key_chars = Utf8Length(key);
    if (key_chars < 1 || key_chars > kMaxTagKeyChars) {
      return tl::unexpected(Error::Invalid(fmt::format(
          "Invalid tag key '{}': a key has 1 to {} characters.", key, kMaxTagKeyChars)));
    }
    std::string prefix = key.substr(0, 4);
    std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                   [](unsigned char ch) { return char(std::tolower(ch)); });
    if (prefix == "aws:") {
      return tl::unexpected(Error::Invalid(fmt::format(
          "Invalid tag key '{}': keys starting with 'aws:' are reserved for AWS use.", key)));
    }
    if (Utf8Length(value) > kMaxTagValueChars) {
      return tl::unexpected(Error::Invalid(
          fmt::format("Invalid tag value for key '{}': a value has at most {} characters.", key,
                      kMaxTagValueChars)));
    }
  }
  return Ok();
}

// "$LATEST" fails the rule by its '$'.
bool IsValidAliasName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAliasNameChars || AllDigits(name)) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
  });
}

Error UnpublishedProvisioned() {
  return Error::Invalid(
      "Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
}
Error WeightedProvisioned() {
  return Error::Invalid("Alias with weights can not be used with Provisioned Concurrency");
}

bool SameCodeAndConfiguration(const FunctionConfig& latest, const FunctionConfig& version) {
  return latest.code_sha256 == version.code_sha256 && latest.code_key == version.code_key &&
         latest.runtime == version.runtime && latest.handler == version.handler &&
         latest.role == version.role && latest.timeout_s == version.timeout_s &&
         latest.memory_mb == version.memory_mb &&
         latest.ephemeral_storage_mb == version.ephemeral_storage_mb &&
         latest.environment == version.environment &&
         latest.architectures == version.architectures && latest.network == version.network &&
         latest.package_type == version.package_type &&
         latest.dead_letter_arn == version.dead_letter_arn;
}

namespace {

// The published version `qualifier` names, or kNotFound.
Result<void> PublishedVersion(const VersionMap& versions, std::string_view name,
                              std::string_view qualifier) {
  if (!versions.contains(VersionNumber(qualifier))) {
    return tl::unexpected(QualifiedNotFound(name, qualifier));
  }
  return Ok();
}

}  // namespace

Result<void> ValidateAliasTarget(const VersionMap& versions, const Alias& alias) {
  if (!IsValidAliasName(alias.name)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member "
        "must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+) and have length "
        "1 to 128",
        alias.name)));
  }
  if (alias.version == kLatest) return Ok();
  if (!AllDigits(alias.version)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'functionVersion' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)",
        alias.version)));
  }
  if (auto version = PublishedVersion(versions, alias.function, alias.version); !version) {
    return tl::unexpected(version.error());
  }
  return Ok();
}

Result<void> ValidateAliasRouting(const VersionMap& versions, const Alias& alias) {
  if (alias.additional_version.empty()) return Ok();
  if (!(alias.additional_weight >= 0 && alias.additional_weight <= 1)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{{{}={}}}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must "
        "satisfy constraint: [Member must have value less than or equal to 1.0, Member must "
        "have value greater than or equal to 0.0]",
        alias.additional_version, alias.additional_weight)));
  }
  if (alias.additional_version == alias.version) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "Invalid function version {0}. Function version {0} is already included in routing "
        "configuration.",
        alias.version)));
  }
  if (alias.version == kLatest) {
    return tl::unexpected(
        Error::Invalid("$LATEST is not supported for an alias pointing to more than 1 version"));
  }
  if (!AllDigits(alias.additional_version)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{{{}={}}}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must "
        "satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]",
        alias.additional_version, alias.additional_weight)));
  }
  if (auto version = PublishedVersion(versions, alias.function, alias.additional_version);
      !version) {
    return tl::unexpected(version.error());
  }
  return Ok();
}

}  // namespace lambent::registry
