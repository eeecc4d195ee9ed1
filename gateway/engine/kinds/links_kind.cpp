#include "links_kind.h"

#include <chrono>

#include "bulwark/ha/node_view.h"
#include "bulwark/vlan/reconcile.h"

namespace bulwark::engine {

namespace {

class LinksObserved : public KindObserved {
 public:
  explicit LinksObserved(vlan::ObservedState s) : state(std::move(s)) {}
  vlan::ObservedState state;
};

const vlan::LinkSet& setOf(const KindStatePtr& state) {
  static const vlan::LinkSet kNothing;  // null state: Bulwark owns no link
  const auto* ls = dynamic_cast<const LinksState*>(state.get());
  return ls ? ls->set : kNothing;
}

KindError errorOf(const vlan::Error& e, bool written = false) {
  KindError out{"links: ", {}, written};
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
  // No trunk (or plain interface) on this machine: not the policy's fault, not the kernel's.
  if (e.code == vlan::Error::Code::Missing) out.cause = KindError::Cause::Unavailable;
  if (e.code == vlan::Error::Code::InvalidPolicy) out.cause = KindError::Cause::Policy;
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
      if (!n) return KindError{"links: " + n.error().message, {}, false, KindError::Cause::Unavailable};
      node = *n;
    }
    auto set = vlan::desiredLinks(policy, node);
    if (!set.problems.empty()) {
      return KindError{"the policy's links are unusable", set.problems, false, KindError::Cause::Policy};
    }
    return KindStatePtr(std::make_shared<LinksState>(std::move(set)));
  }

  KindResult<KindObservedPtr> observe(const KindStatePtr&) override {
    auto observed = vlan::observe();
    if (!observed) return errorOf(observed.error());
    return KindObservedPtr(std::make_shared<LinksObserved>(std::move(*observed)));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state, const KindObservedPtr& observed) override {
    auto made = std::make_shared<vlan::Plan>();
    made->desired = setOf(state);
    made->observed = observedOf(observed);
    auto ops = vlan::diff(made->desired, made->observed);
    if (!ops) return errorOf(ops.error());
    made->ops = std::move(*ops);
    KindPlan p = toPlan(made->ops);
    if (!p.inSync) p.detail = std::move(made);
    return p;
  }

  KindResult<KindApplied> apply(const KindStatePtr&, const KindPlan& plan) override {
    KindApplied out;
    out.plan = plan;
    out.plan.detail.reset();
    const auto* made = static_cast<const vlan::Plan*>(plan.detail.get());
    if (made == nullptr) return out;
    auto start = std::chrono::steady_clock::now();
    // All or nothing: applyLinks undoes its own ops in reverse on failure. Should that undo
    // fail too, something is left behind: written, so the engine restores (a no-op plan when
    // the undo worked). Stale: the kernel moved since the plan, nothing was written.
    auto done = vlan::applyLinks(*made);
    if (!done) return errorOf(done.error(), done.error().code != vlan::Error::Code::Stale);
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    out.messages = done->messages + done->sysctls;
    out.counts = std::to_string(done->messages) + " netlink messages, " + std::to_string(done->sysctls) + " sysctls";
    // Read back: nothing may be left to do.
    auto again = vlan::observe();
    if (!again) return errorOf(again.error(), true);
    auto left = vlan::diff(made->desired, *again);
    if (!left) return errorOf(left.error(), true);
    if (!left->empty()) {
      return KindError{"applied, but the links still differ from the policy", toPlan(*left).changes, true};
    }
    return out;
  }

  KindResult<KindStatePtr> adopt(const KindObservedPtr& observed) override {
    auto set = ownedLinks(observedOf(observed));
    if (set.links.empty()) return KindStatePtr{};
    return KindStatePtr(std::make_shared<LinksState>(std::move(set)));
  }

 private:
  bool ha_;
  std::string haNode_;
  static const vlan::ObservedState& observedOf(const KindObservedPtr& observed) {
    static const vlan::ObservedState kNone;
    const auto* o = dynamic_cast<const LinksObserved*>(observed.get());
    return o ? o->state : kNone;
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

}  // namespace bulwark::engine
