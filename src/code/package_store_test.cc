#include "code/package_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/encoding.h"
#include "code/unzip.h"

namespace lambent::code {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string name = (fs::temp_directory_path() / "lambent-code-test-XXXXXX").string();
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

// One entry for MakeZip, written exactly as given: names and targets are not checked.
struct Entry {
  std::string name;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;    // a file's contents
  std::string target;  // a symlink's target
};

la_ssize_t AppendToString(archive*, void* client_data, const void* buffer, size_t length) {
  static_cast<std::string*>(client_data)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// A zip holding `entries`, built with libarchive's writer so that malicious names survive.
std::string MakeZip(const std::vector<Entry>& entries, bool compress = true) {
  std::string zip;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  if (!compress) archive_write_set_format_option(a, "zip", "compression", "store");
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &zip, nullptr, AppendToString, nullptr);
  for (const Entry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.perm);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.target.c_str());
    if (e.type == AE_IFREG) archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    EXPECT_GE(archive_write_header(a, entry), ARCHIVE_WARN) << archive_error_string(a);
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return zip;
}

// Offset of the central directory header of entry `index`.
size_t CentralHeader(const std::string& zip, int index) {
  size_t at = 0;
  for (int i = 0; i <= index; ++i) {
    at = zip.find("PK\x01\x02", i == 0 ? 0 : at + 4);
    if (at == std::string::npos) std::abort();
  }
  return at;
}

void PutLe32(std::string& zip, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) zip[at + i] = static_cast<char>(value >> (8 * i));
}

// Rewrites what the central directory says about entry `index`: the system that made it
// (0 is MS-DOS, 3 is Unix) and its external attributes.
void SetMadeBy(std::string& zip, int index, uint8_t host, uint32_t external_attributes) {
  size_t at = CentralHeader(zip, index);
  zip[at + 5] = static_cast<char>(host);
  PutLe32(zip, at + 38, external_attributes);
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

// Names directly in `dir`, sorted.
std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::unique_ptr<PackageStore> OpenStore(const fs::path& root,
                                        int64_t max_unzipped_bytes = kDefaultMaxUnzippedBytes) {
  auto store = PackageStore::Open(root, max_unzipped_bytes);
  if (!store) {
    ADD_FAILURE() << store.error().message();
    return nullptr;
  }
  return std::move(*store);
}

// Puts `zip`, expects an Invalid rejection and returns its message. Also checks that the
// rejection left nothing behind.
std::string Rejection(const std::string& zip, int64_t max_unzipped_bytes = 1 << 20) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code", max_unzipped_bytes);
  auto info = store->Put(zip);
  if (info) {
    ADD_FAILURE() << "stored " << info->dir;
    return "";
  }
  EXPECT_EQ(info.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(Listing(tmp.path() / "code"), ::testing::ElementsAre(".tmp"));
  EXPECT_THAT(Listing(tmp.path() / "code" / ".tmp"), ::testing::IsEmpty());
  EXPECT_THAT(Listing(tmp.path()), ::testing::ElementsAre("code"));
  return info.error().message();
}

TEST(PackageStore, StoresAPackageWithItsModesAndNestedDirectories) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  const std::string zip = MakeZip({
      {.name = "bootstrap", .perm = 0755, .data = "#!/bin/sh\necho hi\n"},
      {.name = "lib/", .type = AE_IFDIR, .perm = 0750},
      {.name = "lib/tool.sh", .perm = 0700, .data = "exit 0\n"},
      {.name = "lib/deep/er/data.txt", .perm = 0600, .data = "hello"},
      {.name = "./config/a/../settings.json", .data = "{}"},
  });

  auto info = store->Put(zip);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->sha256_hex, HexEncode(Sha256(zip)));
  EXPECT_EQ(info->sha256_base64, Base64Encode(Sha256(zip)));
  EXPECT_EQ(info->zip_size, static_cast<int64_t>(zip.size()));
  EXPECT_EQ(info->unzipped_size, 18 + 7 + 5 + 2);
  EXPECT_EQ(info->dir, tmp.path() / "code" / info->sha256_hex);
  EXPECT_EQ(info->zip, tmp.path() / "code" / (info->sha256_hex + ".zip"));
  EXPECT_EQ(ReadFile(info->zip), zip);

  EXPECT_EQ(ReadFile(info->dir / "bootstrap"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(ModeOf(info->dir / "bootstrap"), 0755u);
  EXPECT_EQ(ModeOf(info->dir / "lib"), 0750u);
  EXPECT_EQ(ModeOf(info->dir / "lib/tool.sh"), 0700u);
  EXPECT_EQ(ReadFile(info->dir / "lib/deep/er/data.txt"), "hello");
  EXPECT_EQ(ModeOf(info->dir / "lib/deep/er/data.txt"), 0600u);
  // Directories the zip only implies get the default mode.
  EXPECT_EQ(ModeOf(info->dir / "lib/deep"), 0755u);
  EXPECT_EQ(ModeOf(info->dir / "lib/deep/er"), 0755u);
  EXPECT_EQ(ModeOf(info->dir), 0755u);
  EXPECT_EQ(ReadFile(info->dir / "config/settings.json"), "{}");
  EXPECT_THAT(Listing(info->dir), ::testing::ElementsAre("bootstrap", "config", "lib"));
  EXPECT_THAT(Listing(tmp.path() / "code" / ".tmp"), ::testing::IsEmpty());
}

TEST(PackageStore, ReturnsTheSameInfoWhenTheSameBytesArePutTwice) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  const std::string zip = MakeZip({{.name = "index.js", .data = "exports.handler = 1;"}});

  auto first = store->Put(zip);
  auto second = store->Put(zip);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->sha256_hex, second->sha256_hex);
  EXPECT_EQ(first->sha256_base64, second->sha256_base64);
  EXPECT_EQ(first->zip_size, second->zip_size);
  EXPECT_EQ(first->unzipped_size, second->unzipped_size);
  EXPECT_EQ(first->dir, second->dir);
  EXPECT_THAT(Listing(tmp.path() / "code"),
              ::testing::ElementsAre(".tmp", first->sha256_hex, first->sha256_hex + ".zip"));
}

TEST(PackageStore, FindsAStoredPackageAfterReopening) {
  TempDir tmp;
  const std::string zip =
      MakeZip({{.name = "a.txt", .data = "abc"}, {.name = "b/c.txt", .data = "de"}});
  PackageInfo stored;
  {
    auto store = OpenStore(tmp.path() / "code");
    auto info = store->Put(zip);
    ASSERT_TRUE(info) << info.error().message();
    stored = *info;
  }
  auto store = OpenStore(tmp.path() / "code");
  auto info = store->Get(stored.sha256_hex);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->sha256_hex, stored.sha256_hex);
  EXPECT_EQ(info->sha256_base64, stored.sha256_base64);
  EXPECT_EQ(info->zip_size, stored.zip_size);
  EXPECT_EQ(info->unzipped_size, 5);
  EXPECT_EQ(info->dir, stored.dir);
  EXPECT_EQ(info->zip, stored.zip);
}

TEST(PackageStore, SaysNotFoundForAnUnknownOrMalformedKey) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  auto unknown = store->Get(std::string(64, 'a'));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  for (const char* key : {"", "..", "../../etc/passwd", ".tmp", "ABCDEF"}) {
    auto malformed = store->Get(key);
    ASSERT_FALSE(malformed) << key;
    EXPECT_EQ(malformed.error().code(), ErrorCode::kNotFound) << key;
  }
}

TEST(PackageStore, RejectsAZipSlipEntry) {
  EXPECT_THAT(Rejection(MakeZip({{.name = "../evil.txt", .data = "x"}})),
              AllOf(StartsWith(std::string(kCouldNotUnzip)), HasSubstr("\"../evil.txt\""),
                    HasSubstr("leaves the package")));
  EXPECT_THAT(Rejection(MakeZip({{.name = "ok/../../../evil.txt", .data = "x"}})),
              HasSubstr("leaves the package"));
  // Names are escaped for the error body.
  EXPECT_THAT(Rejection(MakeZip({{.name = "../\x01\"\xff", .data = "x"}})),
              HasSubstr("Entry \"../\\x01\\\"\\xff\""));
}

TEST(PackageStore, RejectsAnAbsolutePath) {
  const std::string target = (fs::temp_directory_path() / "lambent-code-test-absolute").string();
  EXPECT_THAT(Rejection(MakeZip({{.name = target, .data = "x"}})),
              AllOf(StartsWith(std::string(kCouldNotUnzip)), HasSubstr("absolute path")));
  EXPECT_FALSE(fs::exists(target));
}

TEST(PackageStore, RejectsASymlinkToAnAbsolutePath) {
  EXPECT_THAT(Rejection(MakeZip(
                  {{.name = "passwd", .type = AE_IFLNK, .perm = 0777, .target = "/etc/passwd"}})),
              AllOf(StartsWith(std::string(kCouldNotUnzip)), HasSubstr("\"passwd\""),
                    HasSubstr("absolute path \"/etc/passwd\"")));
}

TEST(PackageStore, RejectsASymlinkThatClimbsOutOfThePackage) {
  EXPECT_THAT(Rejection(MakeZip(
                  {{.name = "sub/up", .type = AE_IFLNK, .perm = 0777, .target = "../../outside"}})),
              AllOf(HasSubstr("\"sub/up\""), HasSubstr("outside the package")));
}

TEST(PackageStore, RejectsASymlinkThatClimbsOutThroughAnotherSymlink) {
  // Lexically d/l/../.. is the package root, but d/l is d itself, so it is d's parent's
  // parent: outside.
  EXPECT_THAT(Rejection(MakeZip({
                  {.name = "d/l", .type = AE_IFLNK, .perm = 0777, .target = "."},
                  {.name = "escape", .type = AE_IFLNK, .perm = 0777, .target = "d/l/../.."},
              })),
              AllOf(HasSubstr("\"escape\""), HasSubstr("resolves outside the package")));
}

TEST(PackageStore, RejectsAnEntryWrittenThroughASymlink) {
  EXPECT_THAT(Rejection(MakeZip({
                  {.name = "real/", .type = AE_IFDIR, .perm = 0755},
                  {.name = "link", .type = AE_IFLNK, .perm = 0777, .target = "real"},
                  {.name = "link/file.txt", .data = "x"},
              })),
              AllOf(HasSubstr("\"link/file.txt\""), HasSubstr("symlink")));
}

TEST(PackageStore, KeepsSymlinksThatStayInsideThePackage) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  auto info = store->Put(MakeZip({
      {.name = "lib/real.txt", .data = "data"},
      {.name = "lib/sibling", .type = AE_IFLNK, .perm = 0777, .target = "real.txt"},
      {.name = "top", .type = AE_IFLNK, .perm = 0777, .target = "./lib/../lib/real.txt"},
      {.name = "libdir", .type = AE_IFLNK, .perm = 0777, .target = "lib"},
      {.name = "lib/up", .type = AE_IFLNK, .perm = 0777, .target = "../libdir/real.txt"},
      {.name = "dangling", .type = AE_IFLNK, .perm = 0777, .target = "not/there"},
      {.name = "loop", .type = AE_IFLNK, .perm = 0777, .target = "loop"},
  }));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_TRUE(fs::is_symlink(info->dir / "lib/sibling"));
  EXPECT_EQ(fs::read_symlink(info->dir / "lib/sibling"), "real.txt");
  EXPECT_EQ(ReadFile(info->dir / "lib/sibling"), "data");
  EXPECT_EQ(ReadFile(info->dir / "top"), "data");
  EXPECT_EQ(ReadFile(info->dir / "libdir/real.txt"), "data");
  EXPECT_EQ(ReadFile(info->dir / "lib/up"), "data");
  EXPECT_TRUE(fs::is_symlink(info->dir / "dangling"));
  EXPECT_EQ(info->unzipped_size, 4);
}

TEST(PackageStore, RejectsAPackageOverTheUnzippedSizeLimit) {
  EXPECT_EQ(Rejection(MakeZip({{.name = "big", .data = std::string(1001, 'a')}}), 1000),
            "Unzipped size must be smaller than 1000 bytes");
  // The total counts, not each file.
  EXPECT_EQ(Rejection(MakeZip({{.name = "a", .data = std::string(600, 'a')},
                               {.name = "b", .data = std::string(600, 'b')}}),
                      1000),
            "Unzipped size must be smaller than 1000 bytes");

  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code", 1000);
  auto at_limit = store->Put(MakeZip({{.name = "fits", .data = std::string(1000, 'a')}}));
  ASSERT_TRUE(at_limit) << at_limit.error().message();
  EXPECT_EQ(at_limit->unzipped_size, 1000);
}

TEST(PackageStore, CountsTheBytesWrittenNotTheSizeInTheHeaders) {
  std::string zip = MakeZip({{.name = "bomb", .data = std::string(100000, 'a')}});
  // Claim 10 bytes uncompressed in the central directory.
  PutLe32(zip, CentralHeader(zip, 0) + 24, 10);
  Rejection(zip, 1000);
}

TEST(PackageStore, RejectsSomethingThatIsNotAZip) {
  EXPECT_THAT(Rejection("hello, world"), StartsWith(std::string(kCouldNotUnzip)));
  std::string tar(1024, '\0');
  tar.replace(0, 5, "a.txt");
  tar.replace(257, 6, std::string("ustar\0", 6));
  EXPECT_THAT(Rejection(tar), StartsWith(std::string(kCouldNotUnzip)));
}

TEST(PackageStore, RejectsATruncatedZip) {
  const std::string zip =
      MakeZip({{.name = "a.txt", .data = std::string(5000, 'x')}, {.name = "b.txt", .data = "yz"}});
  EXPECT_THAT(Rejection(zip.substr(0, zip.size() / 2)), StartsWith(std::string(kCouldNotUnzip)));
  EXPECT_THAT(Rejection(zip.substr(0, zip.size() - 10)), StartsWith(std::string(kCouldNotUnzip)));
  EXPECT_THAT(Rejection(zip.substr(0, 30)), StartsWith(std::string(kCouldNotUnzip)));
}

TEST(PackageStore, RejectsAnEntryWhoseDataIsCorrupt) {
  const std::string data = "the quick brown fox jumps over the lazy dog";
  std::string zip = MakeZip({{.name = "a.txt", .data = data}}, /*compress=*/false);
  size_t at = zip.find(data);
  ASSERT_NE(at, std::string::npos);
  zip[at + 4] ^= 0x20;
  EXPECT_THAT(Rejection(zip), AllOf(StartsWith(std::string(kCouldNotUnzip)), HasSubstr("corrupt")));
}

TEST(PackageStore, RejectsEmptyInputAndAZipWithoutEntries) {
  EXPECT_EQ(Rejection(""), "Uploaded file must be a non-empty zip");
  EXPECT_EQ(Rejection(MakeZip({})), "Uploaded file must be a non-empty zip");
}

TEST(PackageStore, RejectsDevicesAndSockets) {
  for (uint32_t type : {S_IFCHR, S_IFBLK, S_IFSOCK}) {
    std::string zip = MakeZip({{.name = "special", .data = "x"}});
    SetMadeBy(zip, 0, 3, (type | 0644) << 16);
    EXPECT_THAT(Rejection(zip), AllOf(HasSubstr("\"special\""),
                                      HasSubstr("is not a regular file, directory or symlink")))
        << type;
  }
}

TEST(PackageStore, StoresAFifoEntryAsARegularFile) {
  // What Info-ZIP records when it zips from a pipe; libarchive reads the data as a file.
  std::string zip = MakeZip({{.name = "piped", .data = "x"}});
  SetMadeBy(zip, 0, 3, (S_IFIFO | 0644) << 16);
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  auto info = store->Put(zip);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(info->dir / "piped")));
  EXPECT_EQ(ReadFile(info->dir / "piped"), "x");
}

TEST(PackageStore, GivesEntriesWithoutUnixModesTheDefaultModes) {
  std::string zip = MakeZip({
      {.name = "folder/", .type = AE_IFDIR, .perm = 0700},
      {.name = "folder/handler.py", .perm = 0700, .data = "x"},
      {.name = "readonly.txt", .perm = 0700, .data = "y"},
      {.name = "unknown.txt", .perm = 0700, .data = "z"},
  });
  SetMadeBy(zip, 0, 0, 0x10);  // MS-DOS directory
  SetMadeBy(zip, 1, 0, 0x20);  // MS-DOS archive bit
  SetMadeBy(zip, 2, 0, 0x21);  // MS-DOS read-only
  SetMadeBy(zip, 3, 3, 0);     // Unix, but no mode

  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  auto info = store->Put(zip);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(ModeOf(info->dir / "folder"), 0755u);
  EXPECT_EQ(ModeOf(info->dir / "folder/handler.py"), 0644u);
  EXPECT_EQ(ModeOf(info->dir / "readonly.txt"), 0644u);
  EXPECT_EQ(ModeOf(info->dir / "unknown.txt"), 0644u);
}

TEST(PackageStore, DropsSetuidSetgidAndStickyBits) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  auto info = store->Put(MakeZip({
      {.name = "suid", .perm = 04755, .data = "x"},
      {.name = "sgid", .perm = 02755, .data = "x"},
      {.name = "sticky/", .type = AE_IFDIR, .perm = 01777},
  }));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(ModeOf(info->dir / "suid"), 0755u);
  EXPECT_EQ(ModeOf(info->dir / "sgid"), 0755u);
  EXPECT_EQ(ModeOf(info->dir / "sticky"), 0777u);
}

TEST(PackageStore, KeepsNonAsciiFileNames) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  auto info = store->Put(MakeZip({{.name = "h\xc3\xa9llo/\xe2\x82\xac.txt", .data = "euro"}}));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(ReadFile(info->dir / "h\xc3\xa9llo/\xe2\x82\xac.txt"), "euro");
}

TEST(PackageStore, RemovesAllPackagesExceptTheOnesToKeep) {
  TempDir tmp;
  const fs::path root = tmp.path() / "code";
  auto store = OpenStore(root);
  auto a = store->Put(MakeZip({{.name = "a", .data = "1"}}));
  auto b = store->Put(MakeZip({{.name = "b", .data = "2"}}));
  auto c = store->Put(MakeZip({{.name = "c", .data = "3"}}));
  ASSERT_TRUE(a && b && c);
  // Read-only directories do not stop the removal.
  ::chmod((a->dir).c_str(), 0500);

  store->RemoveAllExcept({b->sha256_hex});

  EXPECT_EQ(store->Get(a->sha256_hex).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store->Get(b->sha256_hex));
  EXPECT_EQ(store->Get(c->sha256_hex).error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(Listing(root), ::testing::ElementsAre(".tmp", b->sha256_hex, b->sha256_hex + ".zip"));
  EXPECT_THAT(Listing(root / ".tmp"), ::testing::IsEmpty());
  EXPECT_EQ(ReadFile(b->dir / "b"), "2");

  // Storing a removed package again brings it back.
  auto again = store->Put(MakeZip({{.name = "a", .data = "1"}}));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(ReadFile(again->dir / "a"), "1");

  store->RemoveAllExcept({});
  EXPECT_THAT(Listing(root), ::testing::ElementsAre(".tmp"));
}

TEST(PackageStore, DiscardsWhatACrashLeftBehindWhenOpened) {
  TempDir tmp;
  const fs::path root = tmp.path() / "code";
  fs::create_directories(root / ".tmp" / "put-abcdef" / "half");
  std::ofstream(root / ".tmp" / "zip-abcdef") << "partial";
  auto store = OpenStore(root);
  EXPECT_THAT(Listing(root / ".tmp"), ::testing::IsEmpty());
}

TEST(PackageStore, StoresConcurrentPutsOfTheSameAndDifferentZips) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  std::vector<std::string> zips;
  for (int i = 0; i < 3; ++i) {
    zips.push_back(
        MakeZip({{.name = "bootstrap", .perm = 0755, .data = std::string(20000 + i, 'x')},
                 {.name = "lib/a.txt", .data = std::to_string(i)}}));
  }
  constexpr int kThreads = 6;
  std::vector<Result<PackageInfo>> results(kThreads, tl::unexpected(Error::Internal("not run")));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { results[t] = store->Put(zips[t % zips.size()]); });
  }
  for (std::thread& t : threads) t.join();

  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(results[t]) << results[t].error().message();
    EXPECT_EQ(results[t]->sha256_hex, HexEncode(Sha256(zips[t % zips.size()])));
    EXPECT_EQ(ReadFile(results[t]->dir / "lib/a.txt"), std::to_string(t % zips.size()));
    EXPECT_EQ(ModeOf(results[t]->dir / "bootstrap"), 0755u);
  }
  EXPECT_EQ(Listing(tmp.path() / "code").size(), 1 + 2 * zips.size());
  EXPECT_THAT(Listing(tmp.path() / "code" / ".tmp"), ::testing::IsEmpty());
}

TEST(PackageStore, KeepsThePackagesToKeepWhileCollectingConcurrently) {
  TempDir tmp;
  auto store = OpenStore(tmp.path() / "code");
  const std::string kept = MakeZip({{.name = "kept", .data = "k"}});
  const std::string doomed = MakeZip({{.name = "doomed", .data = "d"}});
  const std::string kept_hex = HexEncode(Sha256(kept));

  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto info = store->Put(kept);
        EXPECT_TRUE(info) << info.error().message();
        EXPECT_TRUE(store->Get(kept_hex));
        // Whether this one survives depends on the timing; it must not fail otherwise.
        auto other = store->Put(doomed);
        EXPECT_TRUE(other) << other.error().message();
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) store->RemoveAllExcept({kept_hex});
  });
  for (std::thread& t : threads) t.join();

  auto info = store->Get(kept_hex);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(ReadFile(info->dir / "kept"), "k");
  EXPECT_EQ(ReadFile(info->zip), kept);
  store->RemoveAllExcept({kept_hex});
  EXPECT_THAT(Listing(tmp.path() / "code"),
              ::testing::ElementsAre(".tmp", kept_hex, kept_hex + ".zip"));
  EXPECT_THAT(Listing(tmp.path() / "code" / ".tmp"), ::testing::IsEmpty());
}

// Collection wired as the daemon wires it, with the tasks it hands to the background kept
// for the test to run.
struct Collection {
  explicit Collection(PackageStore& store) {
    store.EnableCollection([this] { return referenced; },
                           [this](std::function<void()> task) { tasks.push_back(std::move(task)); });
  }
  void RunTasks() {
    auto now = std::move(tasks);
    tasks.clear();
    for (auto& task : now) task();
  }
  std::set<std::string> referenced;
  std::vector<std::function<void()>> tasks;
};

TEST(PackageStore, CollectDeletesWhatNoFunctionUsesAndKeepsAPackageAnotherFunctionUses) {
  TempDir tmp;
  const fs::path root = tmp.path() / "code";
  auto store = OpenStore(root);
  Collection collection(*store);
  std::string shared_hex, deleted_hex;
  {
    auto shared = store->Put(MakeZip({{.name = "shared", .data = "1"}}));
    auto deleted = store->Put(MakeZip({{.name = "deleted", .data = "2"}}));
    ASSERT_TRUE(shared && deleted);
    shared_hex = shared->sha256_hex;
    deleted_hex = deleted->sha256_hex;
  }
  collection.referenced = {shared_hex};
  store->Collect();
  EXPECT_THAT(Listing(root), ::testing::ElementsAre(".tmp", shared_hex, shared_hex + ".zip"));
  EXPECT_THAT(Listing(root / ".tmp"), ::testing::IsEmpty());
  EXPECT_TRUE(collection.tasks.empty());
}

TEST(PackageStore, APackageInUseIsDeletedWhenItsLastHolderLetsGo) {
  TempDir tmp;
  const fs::path root = tmp.path() / "code";
  auto store = OpenStore(root);
  Collection collection(*store);
  auto put = store->Put(MakeZip({{.name = "running", .data = "1"}}));
  ASSERT_TRUE(put);
  const std::string hex = put->sha256_hex;
  std::optional<PackageInfo> sandbox = *store->Get(hex);  // an environment running from it
  put = tl::unexpected(Error::Internal("dropped"));

  store->Collect();
  EXPECT_EQ(ReadFile(sandbox->dir / "running"), "1");
  EXPECT_TRUE(collection.tasks.empty());

  sandbox.reset();
  ASSERT_EQ(collection.tasks.size(), 1u);
  collection.RunTasks();
  EXPECT_THAT(Listing(root), ::testing::ElementsAre(".tmp"));
}

TEST(PackageStore, APackageInUseThatAFunctionRefersToByThenStays) {
  TempDir tmp;
  const fs::path root = tmp.path() / "code";
  auto store = OpenStore(root);
  Collection collection(*store);
  // A create stores the zip, a collection runs before the function is stored, then the
  // function is stored and the create lets go of the package.
  auto put = std::make_optional(*store->Put(MakeZip({{.name = "new", .data = "1"}})));
  const std::string hex = put->sha256_hex;
  store->Collect();
  collection.referenced = {hex};
  put.reset();
  collection.RunTasks();
  auto info = store->Get(hex);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(ReadFile(info->dir / "new"), "1");
}

}  // namespace
}  // namespace lambent::code
