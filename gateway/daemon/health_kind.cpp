#include "health_kind.h"

#include <set>

#include "bulwark/health/target.h"

namespace bulwark::daemon {

namespace {

class HealthState : public KindState {
 public:
  explicit HealthState(std::vector<health::Target> t) : targets(std::move(t)) {}
  std::vector<health::Target> targets;
};

std::string describe(const health::Target& t) {
  return "check " + t.check + " (" + std::string(policies::checkTypeName(t.type)) + ") on " + t.host + " " +
         t.address.str() + ":" + std::to_string(t.port);
}

class HealthKind final : public ResourceKind {
 public:
  explicit HealthKind(DnatHealth& h) : health_(h) {}

  std::string_view name() const override { return "health"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    return KindStatePtr(std::make_shared<HealthState>(health::targetsFromPolicy(policy)));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state) override {
    const auto& want = targetsOf(state);
    const auto& have = health_.targets();
    KindPlan p;
    std::set<std::string> haveKeys, wantKeys;
    for (const auto& t : have) haveKeys.insert(t.key());
    for (const auto& t : want) {
      wantKeys.insert(t.key());
      if (!haveKeys.count(t.key())) p.changes.push_back(describe(t) + " added");
    }
    for (const auto& t : have) {
      if (!wantKeys.count(t.key())) p.changes.push_back(describe(t) + " removed");
    }
    if (p.changes.empty() && want != have) p.changes.push_back("check settings changed");
    p.inSync = p.changes.empty();
    return p;
  }

  KindResult<KindApplied> apply(const KindStatePtr& state) override {
    auto planned = plan(state);
    KindApplied out;
    out.plan = planned.value();
    if (!out.plan.inSync) health_.configure(targetsOf(state));
    return out;
  }

  KindResult<KindStatePtr> adoptObserved() override {
    return KindStatePtr(std::make_shared<HealthState>(health_.targets()));
  }

 private:
  static const std::vector<health::Target>& targetsOf(const KindStatePtr& state) {
    static const std::vector<health::Target> none;
    const auto* s = dynamic_cast<const HealthState*>(state.get());
    return s ? s->targets : none;
  }
  DnatHealth& health_;
};

}  // namespace

ResourceKindPtr makeHealthKind(DnatHealth& health) { return std::make_unique<HealthKind>(health); }

}  // namespace bulwark::daemon
