// The native handlers of the benchmark, shared by the provided.al2023 bootstrap
// (bootstrap.cc) and the direct baseline server (bench/baseline/server.cc), so both rows run
// the same code.
#pragma once

#include <time.h>

#include <string>
#include <string_view>

namespace bench {

using Handler = std::string (*)(std::string_view event);

inline std::string Noop(std::string_view) { return "{}"; }

inline std::string Sleep(timespec ts) {
  while (nanosleep(&ts, &ts) != 0) {
  }
  return "{}";
}

inline std::string Sleep100(std::string_view) { return Sleep({0, 100'000'000}); }
inline std::string Sleep3000(std::string_view) { return Sleep({3, 0}); }

// "noop", "sleep100" or "sleep3000" (the _HANDLER of the function); nullptr for anything else.
inline Handler FindHandler(std::string_view name) {
  if (name == "noop") return Noop;
  if (name == "sleep100") return Sleep100;
  if (name == "sleep3000") return Sleep3000;
  return nullptr;
}

}  // namespace bench
