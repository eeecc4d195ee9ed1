#include "vpn_kind.h"

#include <chrono>

#include "bulwark/vpn/credentials.h"
#include "plan_detail.h"

namespace bulwark::engine {

namespace {

KindError viciError(const std::string& what, const vpn::ViciError& e, bool written = false) {
  return KindError{what + ": " + e.str(), {}, written};
}

// charon not running (or its socket not reachable): this machine's state, not the policy's.
KindError charonUnavailable(const std::string& uri, const vpn::ViciError& e) {
  auto out = viciError("vpn: charon at " + uri, e);
  out.cause = KindError::Cause::Unavailable;
  return out;
}

const vpn::CharonConfig& configOf(const KindStatePtr& state) {
  static const vpn::CharonConfig kNothing;  // null state: Bulwark owns nothing in charon
  const auto* vs = dynamic_cast<const VpnState*>(state.get());
  return vs ? vs->config : kNothing;
}

class VpnObserved : public KindObserved {
 public:
  explicit VpnObserved(vpn::Observed o, bool s = false) : observed(std::move(o)), standby(s) {}
  vpn::Observed observed;
  bool standby = false;  // an HA pair's standby: no charon here, nothing to configure
};

KindPlan toPlan(const vpn::Plan& p) {
  KindPlan out;
  out.inSync = p.inSync();
  for (const auto& c : p.changes) {
    out.changes.push_back(std::string(vpn::changeKindName(c.kind)) + " " + c.name + " (" + c.reason + ")");
    out.commands.push_back(std::string(vpn::changeKindName(c.kind)) + " " + c.name);
  }
  return out;
}

class VpnKind final : public ResourceKind {
 public:
  explicit VpnKind(VpnOptions o) : o_(std::move(o)) {}

  std::string_view name() const override { return "vpn"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    vpn::Credentials creds;
    if (policy.vpn) {
      auto loaded = vpn::loadCredentials(vpn::credentialFiles(o_.pkiDir));
      if (!loaded) {
        return KindError{"vpn: " + loaded.error().message + " (bulwarkctl pki init/gateway; --pki)", {}, false,
                         KindError::Cause::Unavailable};
      }
      creds = std::move(*loaded);
    }
    vpn::CharonOptions co;
    co.forceEncap = o_.libipsec;
    auto cfg = vpn::charonConfigFromPolicy(policy, std::move(creds), co);
    if (!cfg.ok()) {
      return KindError{"the policy's VPN configuration is unusable", cfg.errors, false, KindError::Cause::Policy};
    }
    return KindStatePtr(std::make_shared<VpnState>(std::move(cfg.config)));
  }

  KindResult<KindObservedPtr> observe(const KindStatePtr&) override {
    if (o_.standby && o_.standby()) {  // no charon here: the active node's
      return KindObservedPtr(std::make_shared<VpnObserved>(vpn::Observed{}, true));
    }
    auto client = vpn::ViciClient::connect(o_.viciUri);
    if (!client) return charonUnavailable(o_.viciUri, client.error());
    auto observed = vpn::observe(**client);
    if (!observed) return viciError("vpn: reading charon's configuration", observed.error());
    return KindObservedPtr(std::make_shared<VpnObserved>(std::move(*observed)));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state, const KindObservedPtr& observed) override {
    const auto* o = dynamic_cast<const VpnObserved*>(observed.get());
    if (o == nullptr) return KindError{"vpn: nothing observed to plan against", {}, false};
    if (o->standby) return KindPlan{};
    auto p = std::make_shared<vpn::Plan>(vpn::planReconcile(configOf(state), o->observed));
    KindPlan out = toPlan(*p);
    return withDetail(std::move(out), std::move(p));
  }

  KindResult<KindApplied> apply(const KindStatePtr& state, const KindPlan& plan) override {
    KindApplied out = appliedOf(plan);
    const auto* p = detailOf<vpn::Plan>(plan);
    if (p == nullptr) return out;
    auto client = vpn::ViciClient::connect(o_.viciUri);
    if (!client) return charonUnavailable(o_.viciUri, client.error());
    auto start = std::chrono::steady_clock::now();
    auto r = vpn::applyPlan(**client, configOf(state), *p);
    out.messages = r.applied;
    out.counts = std::to_string(r.applied) + " VICI command(s)";
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) {
      KindError e{"vpn: charon refused " + std::to_string(r.errors.size()) + " change(s)", {}, r.applied > 0};
      for (const auto& x : r.errors) e.details.push_back(x.str());
      return e;
    }
    // Read back: charon must now hold exactly the desired configuration.
    auto again = vpn::observe(**client);
    if (!again) return viciError("vpn: reading charon's configuration", again.error(), true);
    auto left = vpn::planReconcile(configOf(state), *again);
    if (!left.inSync()) {
      return KindError{"vpn: applied, but charon still differs from the policy", toPlan(left).changes, true};
    }
    return out;
  }

  // charon's loaded configuration cannot be turned back into a CharonConfig (the key is
  // never read back): "nothing" is what a rollback without a known state restores.
  KindResult<KindStatePtr> adopt(const KindObservedPtr&) override { return KindStatePtr{}; }

 private:
  VpnOptions o_;
};

}  // namespace

ResourceKindPtr makeVpnKind(VpnOptions options) { return std::make_unique<VpnKind>(std::move(options)); }

}  // namespace bulwark::engine
