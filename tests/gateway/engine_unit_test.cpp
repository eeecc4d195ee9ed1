// The apply engine (gateway/engine): the cycle over fake kinds whose "kernel" is a map, so the
// order, the undo after a failure and its scope are checked without root; plus the links
// kind's pure snapshot of what it owns.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apply_engine.h"
#include "kinds/links_kind.h"

namespace bulwark::engine {
namespace {

// What the fake kinds' "kernel" holds, and the writes in the order they happened.
struct World {
  std::map<std::string, int> held;
  std::vector<std::string> writes;
};

class IntState : public KindState {
 public:
  explicit IntState(int v) : value(v) {}
  int value;
};
class IntObserved : public KindObserved {
 public:
  explicit IntObserved(int v) : value(v) {}
  int value;
};

KindStatePtr state(int v) { return std::make_shared<IntState>(v); }
int valueOf(const KindStatePtr& s) { return s ? static_cast<const IntState&>(*s).value : 0; }

class FakeKind final : public ResourceKind {
 public:
  FakeKind(std::string name, World& w) : name_(std::move(name)), w_(w) {}
  std::optional<int> refuse;        // apply of this value fails...
  bool refuseAfterWriting = false;  // ...after it was written (or before)
  bool refuseRestore = false;       // applying anything else fails too, after that
  bool failObserve = false;
  int observes = 0;  // observe() calls

  std::string_view name() const override { return name_; }
  KindResult<KindStatePtr> desired(const policies::Policy&) const override { return state(1); }
  KindResult<KindObservedPtr> observe(const KindStatePtr&) override {
    ++observes;
    if (failObserve) return KindError{"cannot read", {}, false};
    return KindObservedPtr(std::make_shared<IntObserved>(w_.held[name_]));
  }
  KindResult<KindPlan> plan(const KindStatePtr& s, const KindObservedPtr& o) override {
    KindPlan p;
    p.inSync = valueOf(s) == static_cast<const IntObserved&>(*o).value;
    if (!p.inSync) p.changes.push_back(name_ + " -> " + std::to_string(valueOf(s)));
    return p;
  }
  KindResult<KindApplied> apply(const KindStatePtr& s, const KindPlan& plan) override {
    const int v = valueOf(s);
    const bool refused = (refuse && *refuse == v) || (refuseRestore && failedOnce_);
    if (refused) {
      failedOnce_ = true;
      if (!refuseAfterWriting) return KindError{"refused", {}, false};
      write(v);
      return KindError{"read back differs", {}, true};
    }
    write(v);
    return KindApplied{plan, 1.0, 1, 0, "1 write"};
  }
  KindResult<KindStatePtr> adopt(const KindObservedPtr& o) override {
    return state(static_cast<const IntObserved&>(*o).value);
  }

 private:
  void write(int v) {
    w_.held[name_] = v;
    w_.writes.push_back(name_ + "=" + std::to_string(v));
  }
  std::string name_;
  World& w_;
  bool failedOnce_ = false;
};

struct Fixture {
  World world;
  FakeKind* a = nullptr;
  FakeKind* b = nullptr;
  FakeKind* c = nullptr;
  std::optional<ApplyEngine> engine;
  Fixture() {
    world.held = {{"a", 1}, {"b", 1}, {"c", 1}};
    std::vector<ResourceKindPtr> kinds;
    for (auto [name, slot] : {std::pair{"a", &a}, std::pair{"b", &b}, std::pair{"c", &c}}) {
      auto k = std::make_unique<FakeKind>(name, world);
      *slot = k.get();
      kinds.push_back(std::move(k));
    }
    engine.emplace(std::move(kinds));
  }
  RunResult run(FailureMode mode, Observations ahead = {}) {
    return engine->run({state(2), state(2), state(2)}, std::vector<std::optional<KindStatePtr>>(3), mode,
                       std::move(ahead));
  }
  // observeAll() on another thread, as bulwarkd's startup takes it.
  Observations observeAhead() {
    return std::async(std::launch::async, [this] { return engine->observeAll(); }).get();
  }
};

TEST(ApplyEngine, AppliesInOrderAndSkipsWhatIsInSync) {
  Fixture f;
  f.world.held["b"] = 2;
  auto r = f.run(FailureMode::AllOrNothing);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(f.world.writes, (std::vector<std::string>{"a=2", "c=2"}));
  ASSERT_EQ(r.kinds.size(), 3u);
  EXPECT_TRUE(r.kinds[1].applied->plan.inSync);
  EXPECT_EQ(valueOf(r.kinds[0].previous), 1);  // adopted from what was observed
}

TEST(ApplyEngine, AFailureAfterAWriteRestoresEveryKindTouchedTheFailingOneIncluded) {
  Fixture f;
  f.b->refuse = 2;
  f.b->refuseAfterWriting = true;
  auto r = f.run(FailureMode::AllOrNothing);
  EXPECT_TRUE(r.failed());
  // a and b written, then undone newest first; c never run.
  EXPECT_EQ(f.world.writes, (std::vector<std::string>{"a=2", "b=2", "b=1", "a=1"}));
  EXPECT_EQ(f.world.held, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
  ASSERT_EQ(r.kinds.size(), 2u);
  EXPECT_TRUE(r.kinds[0].restored);
  EXPECT_TRUE(r.kinds[1].restored);
  EXPECT_TRUE(r.kinds[1].error->written);
  EXPECT_TRUE(r.restoreFailures.empty());
}

TEST(ApplyEngine, AFailureBeforeWritingRestoresOnlyTheKindsBefore) {
  Fixture f;
  f.b->refuse = 2;
  auto r = f.run(FailureMode::AllOrNothing);
  EXPECT_EQ(f.world.writes, (std::vector<std::string>{"a=2", "a=1"}));
  EXPECT_TRUE(r.kinds[0].restored);
  EXPECT_FALSE(r.kinds[1].restored);
}

TEST(ApplyEngine, NothingIsWrittenWhenAKindCannotBeObserved) {
  Fixture f;
  f.c->failObserve = true;
  auto r = f.run(FailureMode::AllOrNothing);
  EXPECT_TRUE(r.failed());
  EXPECT_TRUE(f.world.writes.empty());
  ASSERT_EQ(r.kinds.size(), 3u);
  EXPECT_EQ(r.kinds[2].error->message, "cannot read");
  // The kinds before it were planned, never run: neither applied nor failed (the daemon once
  // read `applied` of these and crashed on an apply whose links could not be planned).
  EXPECT_FALSE(r.kinds[0].applied.has_value() || r.kinds[0].error.has_value());
  EXPECT_FALSE(r.kinds[1].applied.has_value() || r.kinds[1].error.has_value());
}

TEST(ApplyEngine, PerKindRestoresTheFailingKindAloneAndGoesOn) {
  Fixture f;
  f.b->refuse = 2;
  f.b->refuseAfterWriting = true;
  auto r = f.run(FailureMode::PerKind);
  EXPECT_EQ(f.world.writes, (std::vector<std::string>{"a=2", "b=2", "b=1", "c=2"}));
  EXPECT_EQ(f.world.held, (std::map<std::string, int>{{"a", 2}, {"b", 1}, {"c", 2}}));
  EXPECT_FALSE(r.kinds[0].restored);
  EXPECT_TRUE(r.kinds[1].restored);
  EXPECT_TRUE(r.kinds[2].applied.has_value());
}

TEST(ApplyEngine, AFailedUndoIsReported) {
  Fixture f;
  f.b->refuse = 2;
  f.b->refuseAfterWriting = true;
  f.b->refuseRestore = true;
  auto r = f.run(FailureMode::AllOrNothing);
  ASSERT_EQ(r.restoreFailures.size(), 1u);
  EXPECT_EQ(r.restoreFailures[0], "b: read back differs");
  EXPECT_FALSE(r.kinds[1].restored);
  EXPECT_TRUE(r.kinds[0].restored);
}

TEST(ApplyEngine, GivenPreviousStatesAreWhatItRestores) {
  Fixture f;
  f.c->refuse = 2;
  auto r = f.engine->run({state(2), std::nullopt, state(2)}, {state(7), std::nullopt, std::nullopt},
                         FailureMode::AllOrNothing);
  EXPECT_EQ(f.world.writes, (std::vector<std::string>{"a=2", "a=7"}));
  ASSERT_EQ(r.kinds.size(), 2u);  // b was left alone
}

TEST(ApplyEngine, ReadingsTakenAheadOnAnotherThreadArePlannedAgainstAsIfReadInRun) {
  Fixture sequential;
  Fixture ahead;
  for (auto* f : {&sequential, &ahead}) f->world.held["b"] = 2;
  auto want = sequential.run(FailureMode::PerKind);
  auto readings = ahead.observeAhead();
  ASSERT_EQ(readings.size(), 3u);
  auto got = ahead.run(FailureMode::PerKind, std::move(readings));
  EXPECT_EQ(ahead.world.writes, sequential.world.writes);
  ASSERT_EQ(got.kinds.size(), want.kinds.size());
  for (std::size_t i = 0; i < got.kinds.size(); ++i) {
    EXPECT_EQ(got.kinds[i].applied->plan.changes, want.kinds[i].applied->plan.changes);
    EXPECT_EQ(valueOf(got.kinds[i].previous), valueOf(want.kinds[i].previous));
  }
  // The readings were used: run() read nothing itself.
  for (auto* k : {ahead.a, ahead.b, ahead.c}) EXPECT_EQ(k->observes, 1);
}

TEST(ApplyEngine, AReadingAheadIsWhatIsPlannedAgainstNotALaterOne) {
  Fixture f;
  auto readings = f.observeAhead();
  f.world.held["a"] = 2;  // changed after the reading: the plan still says a -> 2
  auto r = f.run(FailureMode::PerKind, std::move(readings));
  ASSERT_EQ(r.kinds.size(), 3u);
  EXPECT_EQ(r.kinds[0].applied->plan.changes, (std::vector<std::string>{"a -> 2"}));
}

TEST(ApplyEngine, AFailedReadingAheadEndsTheRunAsAFailedObserve) {
  Fixture f;
  f.c->failObserve = true;
  auto readings = f.observeAhead();
  f.c->failObserve = false;  // the failure is the reading's, not run()'s
  auto r = f.run(FailureMode::AllOrNothing, std::move(readings));
  EXPECT_TRUE(r.failed());
  EXPECT_TRUE(f.world.writes.empty());
  ASSERT_EQ(r.kinds.size(), 3u);
  EXPECT_EQ(r.kinds[2].error->message, "cannot read");
  EXPECT_FALSE(r.kinds[2].error->written);
  EXPECT_EQ(f.c->observes, 1);
}

TEST(ApplyEngine, AKindWithoutAReadingAheadIsObservedInRun) {
  Fixture f;
  auto readings = f.observeAhead();
  readings[1].reset();
  readings.pop_back();  // none for c either
  auto r = f.run(FailureMode::PerKind, std::move(readings));
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(f.world.writes, (std::vector<std::string>{"a=2", "b=2", "c=2"}));
  EXPECT_EQ(f.a->observes, 1);
  EXPECT_EQ(f.b->observes, 2);
  EXPECT_EQ(f.c->observes, 2);
}

vlan::Address addr(const char* ip, int len) { return vlan::Address{*policies::IpAddress::parse(ip), len}; }

TEST(LinksKind, OwnedLinksSnapshot) {
  vlan::ObservedState o;
  vlan::ObservedLink trunk;
  trunk.index = 2;
  trunk.name = "eth1";
  trunk.mtu = 1500;
  trunk.up = true;
  vlan::ObservedLink vl;
  vl.index = 3;
  vl.name = "eth1.30";
  vl.kind = "vlan";
  vl.parentIndex = 2;
  vl.vlanId = 30;
  vl.alias = "bulwark:db";
  vl.mtu = 1400;
  vl.up = true;
  vl.addresses = {addr("10.30.0.1", 24), addr("fe80::1", 64), addr("2001:db8:30::1", 64)};
  vlan::ObservedLink adopted;
  adopted.index = 4;
  adopted.name = "lan0";
  adopted.alias = vlan::formatMark(vlan::Mark{"lan", true, {addr("10.1.0.1", 24)}});
  adopted.mtu = 1500;
  adopted.up = true;
  adopted.addresses = {addr("10.1.0.1", 24), addr("10.1.0.2", 24)};  // .2 is not Bulwark's
  vlan::ObservedLink foreign;
  foreign.index = 5;
  foreign.name = "eth2";
  foreign.alias = "someone else";
  o.links = {trunk, vl, adopted, foreign};

  auto set = ownedLinks(o);
  EXPECT_EQ(set.trunk, "eth1");
  ASSERT_EQ(set.links.size(), 2u);
  const auto& v = set.links[0];
  EXPECT_EQ(v.kind, vlan::LinkKind::Vlan);
  EXPECT_EQ(v.segment, "db");
  EXPECT_EQ(v.parent, "eth1");
  EXPECT_EQ(v.vlanId, 30);
  EXPECT_EQ(v.mtu, 1400u);
  EXPECT_EQ(v.addresses, (std::vector<vlan::Address>{addr("10.30.0.1", 24), addr("2001:db8:30::1", 64)}));
  EXPECT_TRUE(v.ipv6);
  const auto& a = set.links[1];
  EXPECT_EQ(a.kind, vlan::LinkKind::Existing);
  EXPECT_EQ(a.name, "lan0");
  EXPECT_EQ(a.addresses, std::vector<vlan::Address>{addr("10.1.0.1", 24)});
  EXPECT_FALSE(a.ipv6);
  // Applied again, the snapshot changes nothing.
  auto ops = vlan::diff(set, o);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  for (const auto& op : *ops) {
    EXPECT_EQ(op.kind, vlan::OpKind::SetSysctl) << op.description();  // the fake state reports no sysctls
  }
}

}  // namespace
}  // namespace bulwark::engine
