#pragma once

#include <string_view>

namespace lambent::cli {

// Whether `serve --listen HOST:PORT` keeps the API to this machine: HOST is a loopback
// address (127.0.0.0/8, ::1, [::1]) or "localhost". Anything else, 0.0.0.0 and host names
// included, may be reachable from the network.
bool IsLoopbackListen(std::string_view listen);

}  // namespace lambent::cli
