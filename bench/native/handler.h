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

inline std::string Sleep100(std::string_view) {
  timespec ts{0, 100'000'000};
  while (nanosleep(&ts, &ts) != 0) {
  }
  return "{}";
}

// "noop" or "sleep100" (the _HANDLER of the function); nullptr for anything else.
inline Handler FindHandler(std::string_view name) {
  if (name == "noop") return Noop;
  if (name == "sleep100") return Sleep100;
  return nullptr;
}

}  // namespace bench
