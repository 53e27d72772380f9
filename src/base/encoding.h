#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lambent {

// Standard base64 with padding (RFC 4648 §4), as Lambda uses for ZipFile and CodeSha256.
std::string Base64Encode(std::string_view data);
// Accepts padded or unpadded input and ignores whitespace; nullopt on any other byte.
std::optional<std::string> Base64Decode(std::string_view text);

// Raw 32-byte SHA-256 digest.
std::string Sha256(std::string_view data);
std::string HexEncode(std::string_view data);

// Decodes %XX escapes (and leaves '+' alone, as URL paths do).
std::string PercentDecode(std::string_view text);

}  // namespace lambent
