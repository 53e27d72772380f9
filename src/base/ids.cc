#include "base/ids.h"

#include <random>

#include <fmt/format.h>

namespace lambent {
namespace {

std::mt19937_64& Generator() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

}  // namespace

std::string NewRequestId() {
  uint64_t a = Generator()(), b = Generator()();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                     a & 0xffff, b >> 48, b & 0xffffffffffffULL);
}

std::string RandomHex(size_t n) {
  std::string out;
  out.reserve(n * 2);
  while (out.size() < n * 2) out += fmt::format("{:016x}", Generator()());
  out.resize(n * 2);
  return out;
}

}  // namespace lambent
