#include "base/error.h"

#include <cstring>

namespace lambent {

Error Error::System(std::string_view call, std::string_view what, int sys_errno) {
  // No fmt here: lambent-init links this statically and carries nothing it does not need.
  std::string message;
  message.append(call).append("(").append(what).append("): ").append(std::strerror(sys_errno));
  return Error(ErrorCode::kSystem, std::move(message), sys_errno);
}

}  // namespace lambent
