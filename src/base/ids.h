#pragma once

#include <string>

namespace lambent {

// A random UUID v4 in its canonical 36-character form, used for request ids.
// Thread-safe (each thread has its own generator).
std::string NewRequestId();
// `n` random bytes as lower-case hex.
std::string RandomHex(size_t n);

}  // namespace lambent
