// keepalived's notify_fifo lines and the FIFO reader.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include "bulwark/ha/notify.h"

namespace bulwark::ha {
namespace {

TEST(HaNotify, ParsesTheLinesKeepalivedWrites) {
  auto g = parseNotifyLine("GROUP \"bulwark\" MASTER 0\n");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, NotifyLine::Kind::Group);
  EXPECT_EQ(g->name, "bulwark");
  EXPECT_EQ(g->state, VrrpState::Master);
  EXPECT_EQ(g->priority, 0);
  auto i = parseNotifyLine("INSTANCE \"bulwark_eth1_10\" BACKUP 150");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, NotifyLine::Kind::Instance);
  EXPECT_EQ(i->name, "bulwark_eth1_10");
  EXPECT_EQ(i->state, VrrpState::Backup);
  EXPECT_EQ(i->priority, 150);
  auto f = parseNotifyLine("INSTANCE \"x\" FAULT 100");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->state, VrrpState::Fault);
  EXPECT_EQ(parseNotifyLine("INSTANCE \"x\" STOP 100")->state, VrrpState::Stop);
  EXPECT_EQ(parseNotifyLine("INSTANCE \"x\" DELETED 100")->state, VrrpState::Stop);
  EXPECT_EQ(parseNotifyLine("MASTER_RX_LOWER_PRI \"x\" MASTER 150")->kind, NotifyLine::Kind::MasterRxLowerPriority);
}

TEST(HaNotify, RejectsAnythingElse) {
  for (const char* bad : {"", "GROUP", "GROUP bulwark MASTER 0", "GROUP \"bulwark MASTER 0", "GROUP \"b\" MASTERS 0",
                          "GROUP \"b\" MASTER x", "GROUP \"b\"MASTER 0", "VIRTUAL \"b\" MASTER 0",
                          "GROUP \"b\" MASTER 0 extra"}) {
    EXPECT_FALSE(parseNotifyLine(bad)) << bad;
  }
  EXPECT_EQ(stateName(VrrpState::Master), "master");
}

TEST(HaNotify, FifoReaderSplitsLinesAndNeverSeesEof) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwark-ha-fifo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "notify.fifo";
  {
    auto fifo = NotifyFifo::open(path);
    ASSERT_TRUE(fifo) << fifo.error().message;
    EXPECT_TRUE(std::filesystem::is_fifo(path));
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EXPECT_TRUE(fifo->readLines().empty());
    {
      int w = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
      ASSERT_GE(w, 0);
      std::string data = "GROUP \"bulwark\" BACKUP 0\nINSTANCE \"bulwark_eth0\" MAS";
      ASSERT_EQ(::write(w, data.data(), data.size()), static_cast<ssize_t>(data.size()));
      ::close(w);  // the writer goes away (keepalived restarting): no EOF for the reader
    }
    EXPECT_EQ(fifo->readLines(), std::vector<std::string>{"GROUP \"bulwark\" BACKUP 0"});
    int w = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    std::string rest = "TER 150\n" + std::string(600, 'x') + "\nGROUP \"bulwark\" MASTER 0\n";
    ASSERT_EQ(::write(w, rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
    ::close(w);
    EXPECT_EQ(fifo->readLines(),
              (std::vector<std::string>{"INSTANCE \"bulwark_eth0\" MASTER 150", "GROUP \"bulwark\" MASTER 0"}));
  }
  auto again = NotifyFifo::open(path);  // an existing FIFO is reused
  EXPECT_TRUE(again);
  std::filesystem::remove(path);
  std::filesystem::create_directories(path);  // not a FIFO: refused
  auto refused = NotifyFifo::open(path);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("is not a FIFO"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bulwark::ha
