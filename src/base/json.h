#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lambent {

// Serialises a document that may hold untrusted text (names from a URL, a runtime's error
// message, a header). nlohmann's dump() throws on a string that is not UTF-8; this one
// writes U+FFFD for each invalid byte instead, so a hostile byte can never end a request.
inline std::string DumpJson(const nlohmann::json& document) {
  return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Text with every byte that is not part of valid UTF-8 replaced by U+FFFD: for untrusted
// text that goes on into headers, logs or documents built elsewhere.
std::string ValidUtf8(std::string_view text);

// Whether `text` nests arrays and objects deeper than `max_depth` (strings and escapes are
// skipped, nothing is allocated). Run before parsing an untrusted document into a DOM: a
// few MB of "[[[[..." would otherwise cost hundreds of MB of nodes.
bool JsonNestsDeeperThan(std::string_view text, size_t max_depth);

}  // namespace lambent
