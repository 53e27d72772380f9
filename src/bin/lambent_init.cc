// lambent-init: PID 1 of every execution environment (see src/init/init_process.h).
#include <cstdio>

#include "init/init_process.h"
#include "init/protocol.h"

int main(int argc, char** argv) {
  lambent::init::InitOptions options;
  options.started_ns = lambent::init::MonotonicNs();
  std::string error;
  if (!lambent::init::ParseInitArgs(argc, argv, options, error)) {
    std::fprintf(stderr, "lambent-init: %s\n", error.c_str());
    return 2;
  }
  return lambent::init::RunInit(options);
}
