#include "sandbox/tmp_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace lambent::sandbox {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TmpPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lambent-tmp-pool-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Stands in for an image: an unlinked file, which Take may chown.
  TmpPool::Maker FakeMaker(std::atomic<int>* made) {
    return [this, made](int) -> Result<Fd> {
      ++*made;
      Fd fd(::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
      if (!fd) return tl::unexpected(Error::System("open", dir_.string(), errno));
      return fd;
    };
  }
  fs::path dir_;
};

TEST_F(TmpPoolTest, KeepsImagesOfTheDefaultSizeReadyFromTheStart) {
  std::atomic<int> made = 0;
  TmpPool pool({.dir = dir_, .per_size = 2, .initial_sizes = {512}}, FakeMaker(&made));
  ASSERT_TRUE(pool.WaitReady(512, 2, 5s));
  Fd image = pool.Take(512, ::getuid(), ::getgid());
  EXPECT_TRUE(image.valid());
  // The one taken is replaced.
  ASSERT_TRUE(pool.WaitReady(512, 2, 5s));
  EXPECT_EQ(pool.stats().taken, 1);
  EXPECT_EQ(pool.stats().missed, 0);
  EXPECT_EQ(made.load(), 3);
}

TEST_F(TmpPoolTest, AnUnknownSizeIsAMissThatTheThreadThenMakes) {
  std::atomic<int> made = 0;
  TmpPool pool({.dir = dir_, .per_size = 1, .initial_sizes = {}}, FakeMaker(&made));
  EXPECT_FALSE(pool.Take(1024, ::getuid(), ::getgid()).valid());
  EXPECT_EQ(pool.stats().missed, 1);
  ASSERT_TRUE(pool.WaitReady(1024, 1, 5s));
  EXPECT_TRUE(pool.Take(1024, ::getuid(), ::getgid()).valid());
  // A size is exact: a 1024 MiB image never serves 2048.
  EXPECT_FALSE(pool.Take(2048, ::getuid(), ::getgid()).valid());
}

TEST_F(TmpPoolTest, MissesRaiseHowManyAreKeptUpToTheMaximum) {
  std::atomic<int> made = 0;
  TmpPool pool({.dir = dir_, .per_size = 1, .max_per_size = 3, .initial_sizes = {}}, FakeMaker(&made));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(pool.Take(512, ::getuid(), ::getgid()).valid());
  ASSERT_TRUE(pool.WaitReady(512, 3, 5s));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(pool.stats().ready, 3);
}

TEST_F(TmpPoolTest, AFailingMakerLeavesTakeEmptyAndSaysWhy) {
  std::atomic<int> calls = 0;
  TmpPool pool({.dir = dir_, .per_size = 1, .initial_sizes = {512}}, [&](int) -> Result<Fd> {
    ++calls;
    return tl::unexpected(Error(ErrorCode::kSystem, "no loop devices here"));
  });
  for (int i = 0; i < 100 && calls == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(pool.Take(512, ::getuid(), ::getgid()).valid());
  auto stats = pool.stats();
  EXPECT_GE(stats.failed, 1);
  EXPECT_EQ(stats.error, "no loop devices here");
  // Backed off: not retried in a tight loop.
  std::this_thread::sleep_for(100ms);
  EXPECT_LE(calls.load(), 2);
}

TEST_F(TmpPoolTest, DiscardedImagesAreClosedOnThePoolsThread) {
  std::atomic<int> made = 0;
  TmpPool pool({.dir = dir_, .per_size = 1, .initial_sizes = {64}}, FakeMaker(&made));
  ASSERT_TRUE(pool.WaitReady(64, 1, 5s));
  Fd image = pool.Take(64, ::getuid(), ::getgid());
  ASSERT_TRUE(image.valid());
  int number = image.get();
  pool.Discard(std::move(image));
  bool closed = false;
  for (int i = 0; i < 200 && !closed && made.load() < 2; ++i) {
    std::this_thread::sleep_for(5ms);
    closed = ::fcntl(number, F_GETFD) < 0;
  }
  // The number may be reused by the pool's next image; either way ours is gone.
  EXPECT_TRUE(closed || made.load() >= 2);
}

TEST(TmpImage, IsSizedSoThatAtLeastTheSizeAskedForIsFree) {
  for (int mb : {512, 1024, 10240}) {
    EXPECT_GE(TmpImageBytes(mb), int64_t(mb) << 20);
    EXPECT_LE(TmpImageBytes(mb), (int64_t(mb) << 20) * 102 / 100 + (2 << 20));
    EXPECT_EQ(TmpImageBytes(mb) % 4096, 0);
  }
}

// Loop devices and mounting need root; CI runs as root, so there it must not skip.
bool CanMakeRealImages() {
  if (TmpImageSupport().empty()) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") ADD_FAILURE() << "CI must run this as root: " << TmpImageSupport();
  return false;
}

std::set<std::string> LoopDevicesBackedBy(const fs::path& dir) {
  std::set<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
    std::ifstream backing(entry.path() / "loop/backing_file");
    std::string file;
    std::getline(backing, file);
    if (!file.empty() && file.starts_with(dir.string())) found.insert(entry.path().filename());
  }
  return found;
}

TEST_F(TmpPoolTest, ARealImageIsAnEmptyExt4OfTheSizeThatVanishesWhenClosed) {
  if (!CanMakeRealImages()) GTEST_SKIP() << TmpImageSupport();
  auto tmpl = FormatTmpTemplate(dir_, 64);
  ASSERT_TRUE(tmpl) << tmpl.error().message();
  // The template is mostly holes: a copy moves little.
  struct stat st;
  ASSERT_EQ(::fstat(tmpl->get(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, st.st_size / 8);
  auto image = MakeTmpImage(dir_, tmpl->get());
  ASSERT_TRUE(image) << image.error().message();
  EXPECT_EQ(LoopDevicesBackedBy(dir_).size(), 1u);
  struct statfs sfs;
  ASSERT_EQ(::fstatfs(image->get(), &sfs), 0);
  EXPECT_EQ(sfs.f_type, 0xEF53u);  // EXT4_SUPER_MAGIC
  // What df shows: the size asked for, within a MiB.
  EXPECT_GE(int64_t(sfs.f_bavail) * sfs.f_bsize, int64_t(64) << 20);
  EXPECT_LE(int64_t(sfs.f_blocks) * sfs.f_bsize, int64_t(65) << 20);
  EXPECT_TRUE(sfs.f_flags & ST_NOSUID);
  EXPECT_TRUE(sfs.f_flags & ST_NODEV);
  Fd root(::openat(image->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  ASSERT_EQ(::fstat(root.get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_EQ(::faccessat(root.get(), "lost+found", F_OK, 0), -1);
  // Nothing is left in the directory: the file is unlinked from the start.
  EXPECT_TRUE(fs::is_empty(dir_));
  root.reset();
  image->reset();
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = LoopDevicesBackedBy(dir_).empty();
    if (!gone) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(gone) << "the loop device outlived its mount";
}

TEST_F(TmpPoolTest, TakeHandsOverAMountOwnedByTheEnvironmentsRoot) {
  if (!CanMakeRealImages()) GTEST_SKIP() << TmpImageSupport();
  TmpPool pool({.dir = dir_, .per_size = 1, .initial_sizes = {32}});
  ASSERT_TRUE(pool.WaitReady(32, 1, 10s)) << pool.stats().error;
  Fd image = pool.Take(32, 400123, 400123);
  ASSERT_TRUE(image.valid());
  struct stat st;
  ASSERT_EQ(::fstatat(image.get(), "", &st, AT_EMPTY_PATH), 0);
  EXPECT_EQ(st.st_uid, 400123u);
  EXPECT_EQ(st.st_gid, 400123u);
  pool.Discard(std::move(image));
}

}  // namespace
}  // namespace lambent::sandbox
