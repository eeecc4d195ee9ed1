// Reading a policy from disk within bounds (source_files.h) and the up-front refusal of
// control characters: in source names (they reach kernel rule comments, where a NUL cuts the
// comment short) and in every scalar of a policy.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "bulwark/policies/source_files.h"
#include "test_support.h"

namespace bulwark::policies {
namespace {

using test::Lines;
using test::loadDiags;
using test::TempDir;
using test::writeFile;

TEST(SourceFiles, ReadsRegularFilesOfADirectorySorted) {
  TempDir dir;
  writeFile(dir.path() / "b.yaml", "hosts: []\n");
  writeFile(dir.path() / "a.yml", "services: []\n");
  writeFile(dir.path() / "notes.txt", "not a policy\n");
  auto r = readPolicySources(dir.path());
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.sources.size(), 2u);
  EXPECT_EQ(std::filesystem::path(r.sources[0].name).filename(), "a.yml");
  EXPECT_EQ(r.sources[1].text, "hosts: []\n");
}

TEST(SourceFiles, AFifoOrADeviceIsRefusedWithoutBlocking) {
  TempDir dir;
  auto fifo = dir.path() / "policy.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO without a writer would block forever; it is refused at once.
  auto r = readPolicySources(fifo);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("not a regular file"), std::string::npos) << r.error;
  auto dev = readPolicySources("/dev/zero");
  EXPECT_FALSE(dev.ok());
  EXPECT_NE(dev.error.find("not a regular file"), std::string::npos) << dev.error;
  // Inside a directory too (bulwarkd's own dir: O_NONBLOCK, fstat).
  SourceLimits strict;
  strict.followSymlinks = false;
  auto inDir = readPolicySources(dir.path(), strict);
  EXPECT_FALSE(inDir.ok());
}

TEST(SourceFiles, SymlinksAreNotFollowedWhenTheDaemonReadsItsDir) {
  TempDir dir;
  writeFile(dir.path() / "real.txt", "hosts: []\n");
  std::filesystem::create_symlink(dir.path() / "real.txt", dir.path() / "link.yaml");
  SourceLimits strict;
  strict.followSymlinks = false;
  auto r = readPolicySources(dir.path(), strict);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("symbolic link"), std::string::npos) << r.error;
  EXPECT_TRUE(readPolicySources(dir.path()).ok());  // bulwarkctl follows (the caller's own rights)
}

TEST(SourceFiles, SizeAndCountAreBounded) {
  TempDir dir;
  writeFile(dir.path() / "a.yaml", std::string(3000, '#'));
  writeFile(dir.path() / "b.yaml", std::string(3000, '#'));
  SourceLimits small;
  small.maxTotalBytes = 5000;
  auto r = readPolicySources(dir.path(), small);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("larger than"), std::string::npos) << r.error;
  small.maxTotalBytes = 10000;
  small.maxFiles = 1;
  EXPECT_FALSE(readPolicySources(dir.path(), small).ok());
}

TEST(SourceFiles, NamesWithControlCharactersAreRefusedAndShownEscaped) {
  EXPECT_EQ(sourceNameProblem("campus.yaml"), "");
  EXPECT_EQ(sourceNameProblem(std::string("a\0b.yaml", 8)), "a control character in the source name");
  EXPECT_EQ(sourceNameProblem("a\nb"), "a control character in the source name");
  EXPECT_EQ(sourceNameProblem(""), "empty source name");
  EXPECT_NE(sourceNameProblem(std::string(2000, 'a')), "");
  // The loader refuses such a source before looking at its text.
  auto r = loadPolicy(std::vector<Source>{{std::string("x\0.yaml", 7), "gateway: { uplink: eth0 }\n"}});
  ASSERT_EQ(r.diagnostics.items().size(), 1u);
  EXPECT_EQ(r.diagnostics.items()[0].str(), "x\\x00.yaml: error: a control character in the source name");
  EXPECT_FALSE(r.ok());
}

TEST(SourceFiles, ControlCharactersInValuesAreErrorsAtTheirPlace) {
  // A NUL inside an interface name or a reference would be cut short in the kernel.
  EXPECT_EQ(loadDiags("gateway: { uplink: \"eth0\\0x\" }\n"),
            (Lines{"t.yaml:1:20: error: 'uplink' holds the control character U+0000 at byte 5\n"
                   "  hint: names and values are printable text"}));
  auto lines = loadDiags("hosts:\n  - { name: h1, segment: \"a\\x01b\", addresses: [10.0.0.1] }\n");
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].rfind("t.yaml:2:26: error: 'segment' holds the control character U+0001 at byte 2", 0), 0u)
      << lines[0];
  // Free text keeps its newlines and tabs.
  EXPECT_EQ(loadDiags("segments:\n  - name: lan\n    description: \"two\\nlines\\tand a tab\"\n"
                      "    interface: eth1\n"),
            Lines{});
  // A message quoting the policy never carries a raw control character.
  auto unknown = loadDiags("gateway: { uplink: eth0, \"up\\x1blink\": x }\n");
  ASSERT_FALSE(unknown.empty());
  EXPECT_EQ(unknown[0].find('\x1b'), std::string::npos) << unknown[0];
  EXPECT_NE(unknown[0].find("up\\x1blink"), std::string::npos) << unknown[0];
}

}  // namespace
}  // namespace bulwark::policies
