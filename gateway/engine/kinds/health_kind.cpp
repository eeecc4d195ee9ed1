#include "health_kind.h"

#include <set>

namespace bulwark::engine {

namespace {

class HealthState : public KindState {
 public:
  explicit HealthState(std::vector<health::Target> t) : targets(std::move(t)) {}
  std::vector<health::Target> targets;
};

class HealthObserved : public KindObserved {
 public:
  explicit HealthObserved(std::vector<health::Target> t) : targets(std::move(t)) {}
  std::vector<health::Target> targets;
};

std::string describe(const health::Target& t) {
  return "check " + t.check + " (" + std::string(policies::checkTypeName(t.type)) + ") on " + t.host + " " +
         t.address.str() + ":" + std::to_string(t.port);
}

const std::vector<health::Target>& targetsOf(const KindStatePtr& state) {
  static const std::vector<health::Target> none;
  const auto* s = dynamic_cast<const HealthState*>(state.get());
  return s ? s->targets : none;
}

class HealthKind final : public ResourceKind {
 public:
  explicit HealthKind(HealthChecks& h) : checks_(h) {}

  std::string_view name() const override { return "health"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    return KindStatePtr(std::make_shared<HealthState>(health::targetsFromPolicy(policy)));
  }

  KindResult<KindObservedPtr> observe(const KindStatePtr&) override {
    return KindObservedPtr(std::make_shared<HealthObserved>(checks_.probed()));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state, const KindObservedPtr& observed) override {
    const auto* o = dynamic_cast<const HealthObserved*>(observed.get());
    if (o == nullptr) return KindError{"health: nothing observed to plan against", {}, false};
    const auto& want = targetsOf(state);
    const auto& have = o->targets;
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

  KindResult<KindApplied> apply(const KindStatePtr& state, const KindPlan& plan) override {
    KindApplied out;
    out.plan = plan;
    if (!out.plan.inSync) checks_.configure(targetsOf(state));
    return out;
  }

  KindResult<KindStatePtr> adopt(const KindObservedPtr& observed) override {
    const auto* o = dynamic_cast<const HealthObserved*>(observed.get());
    return KindStatePtr(std::make_shared<HealthState>(o ? o->targets : std::vector<health::Target>{}));
  }

 private:
  HealthChecks& checks_;
};

}  // namespace

ResourceKindPtr makeHealthKind(HealthChecks& checks) { return std::make_unique<HealthKind>(checks); }

}  // namespace bulwark::engine
