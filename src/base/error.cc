#include "base/error.h"

#include <cstring>

#include <fmt/format.h>

namespace lambent {

Error Error::System(std::string_view call, std::string_view what, int sys_errno) {
  return Error(ErrorCode::kSystem, fmt::format("{}({}): {}", call, what, std::strerror(sys_errno)),
               sys_errno);
}

}  // namespace lambent
