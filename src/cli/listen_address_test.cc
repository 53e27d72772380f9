#include "cli/listen_address.h"

#include <gtest/gtest.h>

namespace lambent::cli {
namespace {

TEST(ListenAddress, KeepsLoopbackAddressesToThisMachine) {
  for (const char* listen : {"127.0.0.1:9000", "127.1.2.3:0", "localhost:9000", "[::1]:9000", "::1:9000"}) {
    EXPECT_TRUE(IsLoopbackListen(listen)) << listen;
  }
}

TEST(ListenAddress, TreatsEveryOtherAddressAsReachableFromTheNetwork) {
  for (const char* listen : {"0.0.0.0:9000", "192.168.1.10:9000", "[::]:9000", ":9000",
                             "example.com:9000", "10.0.0.1", "127.0.0.1.nip.io:9000"}) {
    EXPECT_FALSE(IsLoopbackListen(listen)) << listen;
  }
}

}  // namespace
}  // namespace lambent::cli
