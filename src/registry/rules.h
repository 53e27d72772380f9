#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "registry/function_config.h"

namespace lambent::registry {

// Lambda's rules for what the registry holds (qualifiers, tags, aliases) and its wording for
// what goes wrong. Stateless functions; thread-safe.

inline constexpr char kLatest[] = "$LATEST";

// Empty or "$LATEST": the function's mutable configuration.
bool IsLatest(std::string_view qualifier);
bool AllDigits(std::string_view text);
// The number a published version's qualifier names, or 0 when it names none ("0", "007" and
// numbers past int's range are no version the registry can have published).
int VersionNumber(std::string_view qualifier);

// Lambda's limits on a function's tags, old and new together: at most 50, key 1-128 and value
// 0-256 characters, no key starting "aws:" (any case). kInvalidArgument otherwise.
Result<void> ValidateTags(const std::map<std::string, std::string>& tags);

// Lambda's alias name rule: (?!^[0-9]+$)([a-zA-Z0-9-_]+), 1-128 characters.
bool IsValidAliasName(std::string_view name);

using VersionMap = std::map<int, std::shared_ptr<const FunctionConfig>>;

// The name and primary version of `alias`, against the function's published `versions`: the
// version is $LATEST (Lambda allows it) or an existing published version (kNotFound).
Result<void> ValidateAliasTarget(const VersionMap& versions, const Alias& alias);
// Its routing, in the order Lambda checks it: weight in [0, 1], a second version other than
// the primary, no routing from $LATEST, and an existing published version.
Result<void> ValidateAliasRouting(const VersionMap& versions, const Alias& alias);

// Whether publishing `latest` would repeat `version`: the same code and configuration. The
// description is left out: a publish may override it per version, and Lambda returns the
// previous version when only a new description is given.
bool SameCodeAndConfiguration(const FunctionConfig& latest, const FunctionConfig& version);

// Lambda's messages. The registry does not know the region and account, so it names
// `name:qualifier` where Lambda names an ARN.
Error FunctionNotFound(std::string_view name);
Error QualifiedNotFound(std::string_view name, std::string_view qualifier);
Error AliasNotFound(std::string_view name, std::string_view alias);
Error StaleRevision();
// StaleRevision unless `expected` is empty (the caller asks for no check) or `current`.
Result<void> CheckRevision(std::string_view expected, std::string_view current);
Error UnpublishedProvisioned();
Error WeightedProvisioned();

}  // namespace lambent::registry
