#include "code/zip_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "code/package_store.h"

namespace lambent::code {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string name = (fs::temp_directory_path() / "lambent-zip-test-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) std::abort();
    path_ = fs::canonical(name);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteFile(const fs::path& path, const std::string& data, mode_t mode) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << data;
  ::chmod(path.c_str(), mode);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// What a zip entry says, as read back with libarchive.
struct ReadEntry {
  std::string name;
  mode_t mode;
  std::string data;
  std::string symlink;
};

std::vector<ReadEntry> ReadZip(const std::string& zip) {
  std::vector<ReadEntry> entries;
  archive* a = archive_read_new();
  archive_read_support_format_zip_seekable(a);
  EXPECT_EQ(archive_read_open_memory(a, zip.data(), zip.size()), ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    ReadEntry e{archive_entry_pathname(entry), archive_entry_mode(entry), "", ""};
    if (archive_entry_symlink(entry) != nullptr) e.symlink = archive_entry_symlink(entry);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) e.data.append(buf, n);
    entries.push_back(std::move(e));
  }
  archive_read_free(a);
  return entries;
}

// bootstrap (0755), lib/a.txt, lib/empty/ (0700), link -> lib/a.txt.
void MakeTree(const fs::path& dir) {
  WriteFile(dir / "bootstrap", "#!/bin/sh\n", 0755);
  WriteFile(dir / "lib" / "a.txt", "alpha", 0644);
  fs::create_directories(dir / "lib" / "empty");
  ::chmod((dir / "lib" / "empty").c_str(), 0700);
  ::chmod((dir / "lib").c_str(), 0755);
  fs::create_symlink("lib/a.txt", dir / "link");
}

TEST(ZipDirectory, StoresEntriesInSortedOrderWithModesAndSymlinks) {
  TempDir tmp;
  MakeTree(tmp.path());

  auto zip = ZipDirectory(tmp.path());
  ASSERT_TRUE(zip) << zip.error().message();
  std::vector<ReadEntry> entries = ReadZip(*zip);
  std::vector<std::string> names;
  for (const ReadEntry& e : entries) names.push_back(e.name);
  EXPECT_THAT(names, ElementsAre("bootstrap", "lib/", "lib/a.txt", "lib/empty/", "link"));
  EXPECT_EQ(entries[0].mode, static_cast<mode_t>(AE_IFREG | 0755));
  EXPECT_EQ(entries[0].data, "#!/bin/sh\n");
  EXPECT_EQ(entries[1].mode, static_cast<mode_t>(AE_IFDIR | 0755));
  EXPECT_EQ(entries[2].mode, static_cast<mode_t>(AE_IFREG | 0644));
  EXPECT_EQ(entries[2].data, "alpha");
  EXPECT_EQ(entries[3].mode, static_cast<mode_t>(AE_IFDIR | 0700));
  EXPECT_EQ(entries[4].mode & AE_IFMT, static_cast<mode_t>(AE_IFLNK));
  EXPECT_EQ(entries[4].symlink, "lib/a.txt");
}

TEST(ZipDirectory, ProducesTheSameBytesForTheSameTree) {
  TempDir tmp;
  MakeTree(tmp.path());
  auto first = ZipDirectory(tmp.path());
  auto second = ZipDirectory(tmp.path());
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, *second);
}

TEST(ZipDirectory, RoundTripsThroughThePackageStore) {
  TempDir tmp;
  MakeTree(tmp.path() / "src");
  WriteFile(tmp.path() / "src" / "big.bin", std::string(300000, 'z'), 0640);
  auto zip = ZipDirectory(tmp.path() / "src");
  ASSERT_TRUE(zip) << zip.error().message();

  auto store = PackageStore::Open(tmp.path() / "code");
  ASSERT_TRUE(store) << store.error().message();
  auto info = (*store)->Put(*zip);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->unzipped_size, 10 + 5 + 300000);
  EXPECT_EQ(ModeOf(info->dir / "bootstrap"), 0755u);
  EXPECT_EQ(ReadFile(info->dir / "bootstrap"), "#!/bin/sh\n");
  EXPECT_EQ(ModeOf(info->dir / "lib/empty"), 0700u);
  EXPECT_EQ(ReadFile(info->dir / "big.bin"), std::string(300000, 'z'));
  EXPECT_EQ(ModeOf(info->dir / "big.bin"), 0640u);
  EXPECT_EQ(fs::read_symlink(info->dir / "link"), "lib/a.txt");
  EXPECT_EQ(ReadFile(info->dir / "link"), "alpha");
}

TEST(ZipDirectory, ZipsAnEmptyDirectoryToAZipThatTheStoreRefuses) {
  TempDir tmp;
  auto zip = ZipDirectory(tmp.path());
  ASSERT_TRUE(zip) << zip.error().message();
  // Only the end of central directory record.
  EXPECT_EQ(*zip, std::string("PK\x05\x06") + std::string(18, '\0'));

  auto store = PackageStore::Open(tmp.path() / "code");
  ASSERT_TRUE(store) << store.error().message();
  auto info = (*store)->Put(*zip);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().message(), "Uploaded file must be a non-empty zip");
}

TEST(ZipDirectory, RejectsAFifo) {
  TempDir tmp;
  ASSERT_EQ(::mkfifo((tmp.path() / "pipe").c_str(), 0644), 0);
  auto zip = ZipDirectory(tmp.path());
  ASSERT_FALSE(zip);
  EXPECT_EQ(zip.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(zip.error().message(), ::testing::HasSubstr("pipe"));
}

TEST(ZipDirectory, FailsOnAMissingDirectory) {
  TempDir tmp;
  auto zip = ZipDirectory(tmp.path() / "absent");
  ASSERT_FALSE(zip);
  EXPECT_EQ(zip.error().code(), ErrorCode::kSystem);
  EXPECT_THAT(zip.error().message(), ::testing::HasSubstr("absent"));
}

}  // namespace
}  // namespace lambent::code
