#include "links_kind.h"

#include <chrono>

#include "bulwark/ha/node_view.h"
#include "bulwark/vlan/reconcile.h"

namespace bulwark::daemon {

namespace {

const vlan::LinkSet& setOf(const KindStatePtr& state) {
  static const vlan::LinkSet kNothing;  // null state: Bulwark owns no link
  const auto* ls = dynamic_cast<const LinksState*>(state.get());
  return ls ? ls->set : kNothing;
}

KindError errorOf(const vlan::Error& e) {
  KindError out{"links: ", {}};
  // vlan errors carry one problem per line, each led by the policy file:line:col.
  std::string first;
  std::size_t start = 0;
  while (start <= e.message.size()) {
    auto nl = e.message.find('\n', start);
    auto line = e.message.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) (first.empty() ? first : out.details.emplace_back()) = line;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  out.message = first.empty() ? "link reconcile failed" : first;
  if (!out.details.empty()) out.details.insert(out.details.begin(), first);
  return out;
}

KindPlan toPlan(const std::vector<vlan::Op>& ops) {
  KindPlan p;
  p.inSync = ops.empty();
  for (const auto& op : ops) {
    p.changes.push_back(op.description());
    p.commands.push_back(op.description());
  }
  return p;
}

class LinksKind final : public ResourceKind {
 public:
  LinksKind(bool ha, std::string haNode) : ha_(ha), haNode_(std::move(haNode)) {}
  std::string_view name() const override { return "links"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    std::string node;
    if (policy.ha && ha_) {
      auto n = ha::localNodeName(haNode_);
      if (!n) return KindError{"links: " + n.error().message, {}};
      node = *n;
    }
    auto set = vlan::desiredLinks(policy, node);
    if (!set.problems.empty()) return KindError{"the policy's links are unusable", set.problems};
    return KindStatePtr(std::make_shared<LinksState>(std::move(set)));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state) override {
    auto made = makePlan(state);
    if (!made) return errorOf(made.error());
    return toPlan(made->ops);
  }

  KindResult<KindApplied> apply(const KindStatePtr& state) override {
    auto made = makePlan(state);
    if (!made) return errorOf(made.error());
    KindApplied out;
    out.plan = toPlan(made->ops);
    if (out.plan.inSync) return out;
    auto start = std::chrono::steady_clock::now();
    auto done = vlan::applyLinks(*made);  // all or nothing: undone in reverse on failure
    if (!done) return errorOf(done.error());
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    out.messages = done->messages + done->sysctls;
    // Read back: nothing may be left to do.
    auto check = makePlan(state);
    if (!check) return errorOf(check.error());
    if (!check->ops.empty()) {
      return KindError{"applied, but the links still differ from the policy", toPlan(check->ops).changes};
    }
    return out;
  }

  KindResult<KindStatePtr> adoptObserved() override {
    auto observed = vlan::observe();
    if (!observed) return errorOf(observed.error());
    auto set = ownedLinks(*observed);
    if (set.links.empty()) return KindStatePtr{};
    return KindStatePtr(std::make_shared<LinksState>(std::move(set)));
  }

 private:
  bool ha_;
  std::string haNode_;
  static vlan::Result<vlan::Plan> makePlan(const KindStatePtr& state) {
    vlan::Plan plan;
    plan.desired = setOf(state);
    auto observed = vlan::observe();
    if (!observed) return observed.error();
    plan.observed = std::move(*observed);
    auto ops = vlan::diff(plan.desired, plan.observed);
    if (!ops) return ops.error();
    plan.ops = std::move(*ops);
    return plan;
  }
};

}  // namespace

vlan::LinkSet ownedLinks(const vlan::ObservedState& observed) {
  vlan::LinkSet out;
  for (const auto& o : observed.links) {
    auto m = vlan::parseMark(o.alias);
    if (!m) continue;
    vlan::DesiredLink l;
    l.segment = m->segment;
    l.name = o.name;
    l.mtu = o.mtu;
    if (m->adopted) {
      l.kind = vlan::LinkKind::Existing;
      l.addresses = m->recorded;
    } else {
      const auto* parent = observed.findIndex(o.parentIndex);
      if (o.kind != "vlan" || !o.vlanId || parent == nullptr) continue;  // not a VLAN Bulwark made
      l.kind = vlan::LinkKind::Vlan;
      l.parent = parent->name;
      l.vlanId = *o.vlanId;
      for (const auto& a : o.addresses) {
        if (!a.linkLocalV6()) l.addresses.push_back(a);
      }
      if (out.trunk.empty()) out.trunk = parent->name;
    }
    for (const auto& a : l.addresses) l.ipv6 = l.ipv6 || !a.ip.isV4();
    out.links.push_back(std::move(l));
  }
  return out;
}

ResourceKindPtr makeLinksKind(bool ha, std::string haNode) { return std::make_unique<LinksKind>(ha, std::move(haNode)); }

}  // namespace bulwark::daemon
