#include "dnat_health.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "reconciler.h"
#include "utc_time.h"

namespace bulwark::daemon {

namespace {

using firewall::BackendHealth;
using firewall::DnatPool;
using firewall::PoolChoice;

std::string healthKey(const std::string& check, const std::string& host) { return check + "|" + host; }

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

std::string names(const DnatPool& pool, const PoolChoice& choice) {
  std::string s;
  for (const auto& n : firewall::chosenBackends(pool, choice)) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

DnatHealth::DnatHealth(EventLoop& loop, health::Engine::Options options) : loop_(loop) {
  std::weak_ptr<int> alive = life_;
  engine_ = std::make_unique<health::Engine>(std::move(options), [this, alive](const health::Transition& t) {
    // An engine thread: hand it to the loop, which owns everything below.
    loop_.post([this, alive, t] {
      if (alive.lock()) onTransition(t);
    });
  });
}

void DnatHealth::configure(std::vector<health::Target> targets) {
  std::map<std::string, health::State> kept;
  for (const auto& t : targets) {
    auto k = healthKey(t.check, t.host);
    if (auto it = health_.find(k); it != health_.end()) kept.emplace(k, it->second);
  }
  const auto count = targets.size();
  {
    std::lock_guard<std::mutex> lock(view_);
    targets_ = targets;
    health_ = std::move(kept);
    ++version_;
  }
  const auto taken = engine_->configure(std::move(targets));
  if (taken < count) {
    log("health: " + std::to_string(count - taken) + " target(s) beyond the engine's bound are not probed");
  }
}

std::vector<health::Target> DnatHealth::probed() const {
  std::lock_guard<std::mutex> lock(view_);
  return targets_;
}

std::uint64_t DnatHealth::version() const {
  std::lock_guard<std::mutex> lock(view_);
  return version_;
}

std::vector<BackendHealth> DnatHealth::healthOf(const DnatPool& pool) const {
  std::vector<BackendHealth> out;
  for (const auto& b : pool.backends) {
    auto it = pool.check.empty() ? health_.end() : health_.find(healthKey(pool.check, b.name));
    if (it == health_.end() || it->second == health::State::Unknown) {
      out.push_back(BackendHealth::Unknown);
    } else {
      out.push_back(it->second == health::State::Up ? BackendHealth::Up : BackendHealth::Down);
    }
  }
  return out;
}

PoolChoice DnatHealth::choiceOf(const DnatPool& pool) const {
  auto prev = choices_.find(pool.map);
  return firewall::choosePool(pool, healthOf(pool), prev == choices_.end() ? PoolChoice{} : prev->second);
}

firewall::Ruleset DnatHealth::effective(const FirewallState& state) const {
  std::vector<PoolChoice> choices;
  choices.reserve(state.pools.size());
  {
    std::lock_guard<std::mutex> lock(view_);
    for (const auto& p : state.pools) choices.push_back(choiceOf(p));
  }
  return firewall::withPoolChoices(state.ruleset, state.pools, choices);
}

FirewallOverlay DnatHealth::overlay() {
  return FirewallOverlay{[this](const FirewallState& s) { return effective(s); }, [this] { return version(); },
                         [this](const FirewallState& s, const firewall::ObservedTable* t) { found(s, t); }};
}

void DnatHealth::found(const FirewallState& state, const firewall::ObservedTable* table) {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(view_);
    if (!foundOpen_) return;
    foundOpen_ = false;
    if (!table) return;  // no table: a fresh start, nothing to keep
    for (const auto& pool : state.pools) {
      if (pool.check.empty() || choices_.count(pool.map)) continue;
      const auto* set = table->findSet(pool.map);
      if (!set) continue;
      const auto choice = firewall::choiceOfElements(pool, set->def.elements);
      if (!choice || *choice == firewall::allUpChoice(pool)) continue;
      const auto over = firewall::passedOver(pool, *choice);
      std::string down;
      for (std::size_t i = 0; i < pool.backends.size(); ++i) {
        // A state the probes already gave stands (they are newer than the table).
        if (over[i] && health_.emplace(healthKey(pool.check, pool.backends[i].name), health::State::Down).second) {
          down += (down.empty() ? "" : ", ") + pool.backends[i].name;
        }
      }
      choices_[pool.map] = *choice;
      ++version_;
      lines.push_back(pool.map + " stays on " + names(pool, *choice) +
                      (down.empty() ? "" : "; " + down + " counted down until check " + pool.check + " rises"));
    }
  }
  for (const auto& l : lines) log("health: taken from the table found in the kernel: " + l);
}

void DnatHealth::startupDone() {
  std::lock_guard<std::mutex> lock(view_);
  foundOpen_ = false;
}

void DnatHealth::log(const std::string& line) const { std::cerr << "bulwarkd: " << line << std::endl; }

void DnatHealth::onTransition(const health::Transition& t) {
  {
    std::lock_guard<std::mutex> lock(view_);
    health_[healthKey(t.target.check, t.target.host)] = t.to;
    ++version_;
  }
  const std::string what = "check " + t.target.check + " on " + t.target.host + " (" + t.target.address.str() + ":" +
                           std::to_string(t.target.port) + "): " + std::string(health::stateName(t.from)) + " -> " +
                           std::string(health::stateName(t.to)) + (t.error.empty() ? "" : " (" + t.error + ")");
  nlohmann::json detail{{"check", t.target.check},
                        {"host", t.target.host},
                        {"address", t.target.address.str()},
                        {"port", t.target.port},
                        {"from", health::stateName(t.from)},
                        {"to", health::stateName(t.to)},
                        {"error", t.error},
                        {"latency_ms", t.latencyMs},
                        {"maps", nlohmann::json::array()}};
  std::string summary = what;
  bool ok = true;
  KindStatePtr current = reconciler_ ? reconciler_->currentState("firewall") : nullptr;
  const auto* fs = dynamic_cast<const FirewallState*>(current.get());
  for (const auto& pool : fs ? fs->pools : std::vector<DnatPool>{}) {
    if (pool.check != t.target.check) continue;
    const bool usesHost = std::any_of(pool.backends.begin(), pool.backends.end(),
                                      [&](const firewall::DnatBackend& b) { return b.name == t.target.host; });
    if (!usesHost) continue;
    auto prevIt = choices_.find(pool.map);
    const PoolChoice prev = prevIt == choices_.end() ? firewall::allUpChoice(pool) : prevIt->second;
    const PoolChoice next = firewall::choosePool(pool, healthOf(pool), prev);
    const auto healths = healthOf(pool);
    const bool allDown = std::all_of(healths.begin(), healths.end(), [](BackendHealth h) { return h == BackendHealth::Down; });
    nlohmann::json m{{"map", pool.map}, {"backends", firewall::chosenBackends(pool, next)}, {"all_down", allDown}};
    if (next != prev) {
      auto u = firewall::poolUpdate(pool, prev, next);
      firewall::Ruleset defs;
      defs.sets.push_back(firewall::poolMapDef(pool));
      const auto start = std::chrono::steady_clock::now();
      if (!writer_) {
        auto w = firewall::ElementWriter::open();
        if (w) writer_.emplace(std::move(w.value()));
      }
      auto r = writer_ ? writer_->apply(defs, u.additions, u.removals)
                       : firewall::KernelResult<firewall::ApplyReport>(firewall::KernelError{"no netlink socket", 0, {}});
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      // The choice stands either way: a failed write leaves the kernel behind the state the
      // firewall kind now wants (effective()), which drift repair then writes.
      {
        std::lock_guard<std::mutex> lock(view_);
        choices_[pool.map] = next;
      }
      m["element_updates"] = u.additions.size();
      m["millis"] = secs * 1000;
      if (r) {
        ++stats_.mapUpdates;
        stats_.lastUpdateSeconds = secs;
        summary += "; " + pool.map + " now " + names(pool, next) + " (" + std::to_string(u.additions.size()) +
                   " element update(s), " + std::to_string(secs * 1000).substr(0, 5) + " ms)";
      } else {
        ok = false;
        ++stats_.mapUpdateFailures;
        writer_.reset();  // a fresh socket next time
        m["error"] = r.error().message;
        summary += "; " + pool.map + ": element update failed: " + r.error().message;
      }
    } else if (allDown) {
      summary += "; every backend of " + pool.map + " is down: keeping " + names(pool, next);
    }
    detail["maps"].push_back(std::move(m));
    if (allDown && reconciler_) {
      reconciler_->audit().record({"dnat-all-down", "bulwarkd (health)", -1, reconciler_->currentRevision(),
                                   reconciler_->currentHash(),
                                   "every backend of " + pool.map + " is down: new connections still go to " +
                                       names(pool, next),
                                   false, {{"map", pool.map}}});
    }
  }
  log("health: " + summary);
  if (reconciler_) {
    reconciler_->audit().record({t.to == health::State::Down ? "health-down" : "health-up", "bulwarkd (health)", -1,
                                 reconciler_->currentRevision(), reconciler_->currentHash(), summary, ok, detail});
  }
}

health::State DnatHealth::actedOn(const health::Target& t) const {
  auto it = health_.find(healthKey(t.check, t.host));
  return it == health_.end() ? health::State::Unknown : it->second;
}

nlohmann::json DnatHealth::webStatus() const {
  auto iso = [](std::chrono::system_clock::time_point t) {
    return t.time_since_epoch().count() == 0 ? std::string() : utcString(t);  // "": never changed
  };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : engine_->snapshot()) {
    const std::string type(policies::checkTypeName(s.target.type));
    out.push_back({{"name", s.target.host + " " + s.target.check},
                   {"host", s.target.host},
                   {"service", type + "/" + std::to_string(s.target.port)},
                   {"check", type},
                   {"state", health::stateName(actedOn(s.target))},
                   {"latency_ms", s.latencyMs >= 0 ? nlohmann::json(s.latencyMs) : nlohmann::json()},
                   {"since", iso(s.lastChange)},
                   {"detail", s.lastError}});
  }
  return out;
}

std::string DnatHealth::metrics() const {
  std::ostringstream o;
  auto snap = engine_->snapshot();
  auto head = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  auto labels = [](const health::Status& s) {
    return "{check=\"" + esc(s.target.check) + "\",host=\"" + esc(s.target.host) + "\"}";
  };
  head("bulwark_health_up", "gauge", "1 when the check passes on the host (rise in a row), 0 when it fails (fall in a row).");
  for (const auto& s : snap) {
    const auto state = actedOn(s.target);
    if (state != health::State::Unknown) o << "bulwark_health_up" << labels(s) << ' ' << (state == health::State::Up ? 1 : 0) << '\n';
  }
  head("bulwark_health_state", "gauge", "The check's state on the host: 0 unknown, 1 up, 2 down.");
  for (const auto& s : snap) o << "bulwark_health_state" << labels(s) << ' ' << static_cast<int>(actedOn(s.target)) << '\n';
  head("bulwark_health_latency_seconds", "gauge", "Duration of the last probe.");
  for (const auto& s : snap) {
    if (s.latencyMs >= 0) o << "bulwark_health_latency_seconds" << labels(s) << ' ' << s.latencyMs / 1000 << '\n';
  }
  head("bulwark_health_probes_total", "counter", "Probes run.");
  for (const auto& s : snap) o << "bulwark_health_probes_total" << labels(s) << ' ' << s.probes << '\n';
  head("bulwark_health_failures_total", "counter", "Probes that failed.");
  for (const auto& s : snap) o << "bulwark_health_failures_total" << labels(s) << ' ' << s.failures << '\n';
  head("bulwark_health_transitions_total", "counter", "State changes (unknown/up/down).");
  for (const auto& s : snap) o << "bulwark_health_transitions_total" << labels(s) << ' ' << s.transitions << '\n';
  head("bulwark_dnat_backend_active", "gauge", "1 for each backend a DNAT map sends new connections to.");
  KindStatePtr current = reconciler_ ? reconciler_->currentState("firewall") : nullptr;
  if (const auto* fs = dynamic_cast<const FirewallState*>(current.get())) {
    for (const auto& pool : fs->pools) {
      const auto choice = choiceOf(pool);
      for (std::size_t i = 0; i < pool.backends.size(); ++i) {
        const bool active = std::find(choice.begin(), choice.end(), i) != choice.end();
        o << "bulwark_dnat_backend_active{map=\"" << esc(pool.map) << "\",backend=\"" << esc(pool.backends[i].name)
          << "\"} " << (active ? 1 : 0) << '\n';
      }
    }
  }
  head("bulwark_dnat_map_updates_total", "counter", "Element updates of DNAT maps after health changes.");
  o << "bulwark_dnat_map_updates_total " << stats_.mapUpdates << '\n';
  head("bulwark_dnat_map_update_failures_total", "counter", "Element updates of DNAT maps the kernel refused.");
  o << "bulwark_dnat_map_update_failures_total " << stats_.mapUpdateFailures << '\n';
  head("bulwark_dnat_map_update_seconds", "gauge", "Duration of the last element update of a DNAT map.");
  o << "bulwark_dnat_map_update_seconds " << stats_.lastUpdateSeconds << '\n';
  return o.str();
}

}  // namespace bulwark::daemon
