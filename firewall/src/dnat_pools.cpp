#include "bulwark/firewall/dnat_pools.h"

#include <algorithm>

namespace bulwark::firewall {

namespace {

bool usable(BackendHealth h) { return h != BackendHealth::Down; }

BackendHealth healthOf(const std::vector<BackendHealth>& health, std::size_t i) {
  return i < health.size() ? health[i] : BackendHealth::Unknown;
}

// Where an element's search for a backend that is up starts: failover at the first backend,
// balance at the slot's own.
std::size_t searchStart(const DnatPool& pool, std::size_t slot) {
  return pool.mode == policies::DnatMode::Balance ? slot : 0;
}

}  // namespace

PoolChoice choosePool(const DnatPool& pool, const std::vector<BackendHealth>& health, const PoolChoice& previous) {
  const std::size_t n = pool.backends.size();
  const std::size_t slots = pool.slotCount();
  PoolChoice out(slots, 0);
  for (std::size_t slot = 0; slot < slots; ++slot) {
    const std::size_t start = searchStart(pool, slot);
    bool found = false;
    for (std::size_t k = 0; k < n && !found; ++k) {
      const std::size_t i = (start + k) % n;
      if (usable(healthOf(health, i))) {
        out[slot] = i;
        found = true;
      }
    }
    if (!found) out[slot] = slot < previous.size() && previous[slot] < n ? previous[slot] : start % std::max<std::size_t>(n, 1);
  }
  return out;
}

PoolChoice allUpChoice(const DnatPool& pool) { return choosePool(pool, {}, {}); }

SetDef poolMapDef(const DnatPool& pool) {
  const bool balance = pool.mode == policies::DnatMode::Balance;
  std::string entries;
  for (const auto& e : pool.entries) entries += (entries.empty() ? "" : ", ") + e;
  SetDef m;
  m.name = pool.map;
  m.key = {balance ? KeyType::Slot : pool.family == policies::Family::V4 ? KeyType::Ipv4Addr : KeyType::Ipv6Addr};
  m.comment = "backends of dnat " + entries;
  m.addressMap = pool.family;
  m.numgenMod = balance ? static_cast<std::uint32_t>(pool.slotCount()) : 0;
  m.elements = poolElements(pool, allUpChoice(pool));
  return m;
}

std::vector<SetElement> poolElements(const DnatPool& pool, const PoolChoice& choice) {
  std::vector<SetElement> out;
  if (pool.backends.empty()) return out;
  auto target = [&](std::size_t slot) {
    const std::size_t i = slot < choice.size() && choice[slot] < pool.backends.size() ? choice[slot] : 0;
    return pool.backends[i].address;
  };
  if (pool.mode == policies::DnatMode::Balance) {
    for (std::size_t slot = 0; slot < pool.slotCount(); ++slot) {
      SetElement e;
      e.key.emplace_back(static_cast<std::uint32_t>(slot));
      e.target = target(slot);
      out.push_back(std::move(e));
    }
    return out;
  }
  for (const auto& vip : pool.vips) {
    SetElement e;
    e.key.emplace_back(Prefix(vip, vip.bits()));
    e.target = target(0);
    out.push_back(std::move(e));
  }
  return out;
}

Ruleset withPoolChoices(const Ruleset& rs, const std::vector<DnatPool>& pools, const std::vector<PoolChoice>& choices) {
  Ruleset out = rs;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    auto it = std::find_if(out.sets.begin(), out.sets.end(), [&](const SetDef& s) { return s.name == pools[i].map; });
    if (it == out.sets.end()) continue;
    it->elements = poolElements(pools[i], i < choices.size() ? choices[i] : allUpChoice(pools[i]));
  }
  return out;
}

PoolUpdate poolUpdate(const DnatPool& pool, const PoolChoice& from, const PoolChoice& to) {
  PoolUpdate u;
  auto before = poolElements(pool, from);
  auto after = poolElements(pool, to);
  for (std::size_t i = 0; i < after.size() && i < before.size(); ++i) {
    if (before[i].target == after[i].target) continue;
    u.removals.push_back({pool.map, before[i]});
    u.additions.push_back({pool.map, after[i]});
  }
  return u;
}

std::optional<PoolChoice> choiceOfElements(const DnatPool& pool, const std::vector<SetElement>& elements) {
  // The elements the pool would have with every backend up give the keys, in choice order.
  const auto keys = poolElements(pool, allUpChoice(pool));
  if (keys.empty() || elements.size() != keys.size()) return std::nullopt;
  PoolChoice out(pool.slotCount(), 0);
  for (std::size_t k = 0; k < keys.size(); ++k) {
    auto e = std::find_if(elements.begin(), elements.end(), [&](const SetElement& x) { return x.key == keys[k].key; });
    if (e == elements.end() || !e->target) return std::nullopt;
    auto b = std::find_if(pool.backends.begin(), pool.backends.end(),
                          [&](const DnatBackend& x) { return x.address == *e->target; });
    if (b == pool.backends.end()) return std::nullopt;
    const auto index = static_cast<std::size_t>(b - pool.backends.begin());
    // failover: one choice for every VIP of the map; VIPs on different backends are no choice
    const std::size_t slot = pool.mode == policies::DnatMode::Balance ? k : 0;
    if (slot != k && out[slot] != index) return std::nullopt;
    out[slot] = index;
  }
  return out;
}

std::vector<bool> passedOver(const DnatPool& pool, const PoolChoice& choice) {
  const std::size_t n = pool.backends.size();
  std::vector<bool> over(n, false);
  std::vector<bool> named(n, false);
  for (std::size_t slot = 0; slot < choice.size() && slot < pool.slotCount(); ++slot) {
    if (choice[slot] >= n) continue;
    named[choice[slot]] = true;
    for (std::size_t i = searchStart(pool, slot) % n; i != choice[slot]; i = (i + 1) % n) over[i] = true;
  }
  for (std::size_t i = 0; i < n; ++i) over[i] = over[i] && !named[i];
  return over;
}

std::vector<std::string> chosenBackends(const DnatPool& pool, const PoolChoice& choice) {
  std::vector<std::string> out;
  std::vector<std::size_t> seen;
  for (auto i : choice) {
    if (i >= pool.backends.size() || std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
    seen.push_back(i);
    out.push_back(pool.backends[i].name + " (" + pool.backends[i].address.str() + ")");
  }
  return out;
}

}  // namespace bulwark::firewall
