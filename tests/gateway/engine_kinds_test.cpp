// The kinds pair brought (keepalived, conntrackd, health checks) on the apply engine, over
// fakes of what bulwarkd gives them (HaFiles, HealthChecks): observe, plan, apply with its
// read-back, adopt, and the engine's undo of a file written before a failure.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apply_engine.h"
#include "kinds/ha_kinds.h"
#include "kinds/health_kind.h"

namespace bulwark::engine {
namespace {

// The runtime directory as a map; `corrupt` makes install() write something else (a read-back
// that differs), `refuse` makes its next install fail after writing (once).
class FakeHaFiles final : public HaFiles {
 public:
  std::map<HaFile, std::string> files;
  bool started = false;
  int shutdowns = 0;
  std::optional<HaFile> corrupt;
  std::optional<HaFile> refuse;

  ha::Result<ha::NodeView> view(const policies::Policy&) const override { return ha::Error{"not used", 0}; }
  ha::Status checkKeepalived(const std::string&) const override { return ha::okStatus(); }
  std::optional<std::string> installed(HaFile f) const override {
    auto it = files.find(f);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  ha::Status install(HaFile f, const std::string& text, const std::optional<ha::NodeView>&) override {
    files[f] = corrupt == f ? text + "# changed behind our back\n" : text;
    if (refuse == f) {
      refuse.reset();
      return ha::Error{"conntrackd did not start", 0};
    }
    started = files.size() == 2;
    return ha::okStatus();
  }
  void shutdown() override {
    files.clear();
    started = false;
    ++shutdowns;
  }
  bool running() const override { return started; }
  const ha::RuntimePaths& paths() const override { return paths_; }

 private:
  ha::RuntimePaths paths_{"/nonexistent"};
};

KindStatePtr haFile(const std::string& text) { return std::make_shared<HaFileState>(text, std::nullopt); }

KindResult<KindApplied> applyOne(ResourceKind& k, const KindStatePtr& want) {
  auto o = k.observe(want);
  EXPECT_TRUE(o.ok());
  auto p = k.plan(want, *o);
  EXPECT_TRUE(p.ok());
  return k.apply(want, *p);
}

TEST(HaKinds, PlanWritesThenReadsBackAndIsInSyncAfterwards) {
  FakeHaFiles rt;
  auto keepalived = makeKeepalivedKind(rt);
  auto conntrackd = makeConntrackdKind(rt);
  EXPECT_EQ(keepalived->name(), "keepalived");
  EXPECT_EQ(conntrackd->name(), "conntrackd");
  const auto want = haFile("vrrp_instance a {\n}\n");
  auto o = keepalived->observe(want);
  ASSERT_TRUE(o.ok());
  auto p = keepalived->plan(want, *o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->inSync);
  ASSERT_EQ(p->changes.size(), 1u);
  EXPECT_EQ(p->changes[0], "write keepalived.conf (2 lines) and start keepalived");
  ASSERT_TRUE(keepalived->apply(want, *p).ok());
  ASSERT_TRUE(applyOne(*conntrackd, haFile("Sync {\n}\n")).ok());
  EXPECT_TRUE(rt.running());
  auto again = keepalived->plan(want, *keepalived->observe(want));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->inSync);
  // A changed rendering rewrites the file; adopt() takes what is there.
  auto other = haFile("vrrp_instance b {\n}\n");
  auto p2 = keepalived->plan(other, *keepalived->observe(other));
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->changes.size(), 1u);
  EXPECT_EQ(p2->changes[0], "rewrite keepalived.conf (1 lines differ) and reload keepalived");
  auto adopted = keepalived->adopt(*keepalived->observe(nullptr));
  ASSERT_TRUE(adopted.ok());
  const auto* s = dynamic_cast<const HaFileState*>(adopted->get());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->text, "vrrp_instance a {\n}\n");
}

TEST(HaKinds, ANullStateStopsBothAndRemovesTheFiles) {
  FakeHaFiles rt;
  rt.files = {{HaFile::Keepalived, "k\n"}, {HaFile::Conntrackd, "c\n"}};
  rt.started = true;
  auto keepalived = makeKeepalivedKind(rt);
  auto p = keepalived->plan(nullptr, *keepalived->observe(nullptr));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->changes.size(), 1u);
  EXPECT_EQ(p->changes[0], "stop keepalived and remove keepalived.conf");
  ASSERT_TRUE(keepalived->apply(nullptr, *p).ok());
  EXPECT_EQ(rt.shutdowns, 1);
  EXPECT_TRUE(rt.files.empty());
  auto adopted = keepalived->adopt(*keepalived->observe(nullptr));
  ASSERT_TRUE(adopted.ok());
  EXPECT_EQ(adopted->get(), nullptr);
}

TEST(HaKinds, AReadBackThatDiffersIsAFailureAfterTheWrite) {
  FakeHaFiles rt;
  rt.corrupt = HaFile::Keepalived;
  auto keepalived = makeKeepalivedKind(rt);
  auto r = applyOne(*keepalived, haFile("k\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().written);
  EXPECT_NE(r.error().message.find("did not read back"), std::string::npos);
}

// Issue 14 item 7 on the pair's kinds: conntrackd fails after its file was written, so the
// engine restores both files, the failing kind's included.
TEST(HaKinds, TheEngineRestoresTheFailingKindsFileToo) {
  FakeHaFiles rt;
  rt.files = {{HaFile::Keepalived, "old k\n"}, {HaFile::Conntrackd, "old c\n"}};
  rt.started = true;
  std::vector<ResourceKindPtr> kinds;
  kinds.push_back(makeKeepalivedKind(rt));
  kinds.push_back(makeConntrackdKind(rt));
  ApplyEngine eng(std::move(kinds));
  rt.refuse = HaFile::Conntrackd;
  auto run = eng.run({haFile("new k\n"), haFile("new c\n")}, {std::nullopt, std::nullopt}, FailureMode::AllOrNothing);
  ASSERT_TRUE(run.failed());
  ASSERT_EQ(run.kinds.size(), 2u);
  ASSERT_TRUE(run.kinds[1].error);
  EXPECT_TRUE(run.kinds[1].error->written);
  EXPECT_TRUE(run.restoreFailures.empty());
  EXPECT_TRUE(run.kinds[0].restored);
  EXPECT_TRUE(run.kinds[1].restored);
  EXPECT_EQ(rt.files[HaFile::Keepalived], "old k\n");
  EXPECT_EQ(rt.files[HaFile::Conntrackd], "old c\n");
}

class FakeChecks final : public HealthChecks {
 public:
  std::vector<health::Target> now;
  int configured = 0;
  std::vector<health::Target> probed() const override { return now; }
  void configure(std::vector<health::Target> t) override {
    now = std::move(t);
    ++configured;
  }
};

health::Target target(const std::string& check, const std::string& host, const char* ip, std::uint16_t port) {
  health::Target t;
  t.check = check;
  t.host = host;
  t.address = *policies::IpAddress::parse(ip);
  t.port = port;
  return t;
}

TEST(HealthKind, PlansAddedAndRemovedChecksAndConfiguresThem) {
  FakeChecks checks;
  checks.now = {target("web", "old", "10.0.0.9", 80)};
  auto kind = makeHealthKind(checks);
  EXPECT_EQ(kind->name(), "health");
  policies::Policy none;
  auto empty = kind->desired(none);
  ASSERT_TRUE(empty.ok());
  auto adopted = kind->adopt(*kind->observe(nullptr));
  ASSERT_TRUE(adopted.ok());

  // Plan from the empty policy: the probed target goes.
  auto p = kind->plan(*empty, *kind->observe(*empty));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->changes.size(), 1u);
  EXPECT_NE(p->changes[0].find("removed"), std::string::npos);
  ASSERT_TRUE(kind->apply(*empty, *p).ok());
  EXPECT_EQ(checks.configured, 1);
  EXPECT_TRUE(checks.now.empty());

  // Back to what was adopted: the target is added again, and then in sync.
  auto back = kind->plan(*adopted, *kind->observe(*adopted));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->changes.size(), 1u);
  EXPECT_NE(back->changes[0].find("added"), std::string::npos);
  ASSERT_TRUE(kind->apply(*adopted, *back).ok());
  ASSERT_EQ(checks.now.size(), 1u);
  EXPECT_EQ(checks.now[0].host, "old");
  auto again = kind->plan(*adopted, *kind->observe(*adopted));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->inSync);
}

}  // namespace
}  // namespace bulwark::engine
