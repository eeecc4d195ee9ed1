#pragma once
// DNAT entries with several backends (or a health check) go through a map, one per pool:
// entries with the same backends, mode and check share it. Which backend each map element
// names is a *choice* made from the backends' health; everything here is pure, so the
// compiler (every backend up), bulwarkd (live health) and the tools (`why`: each backend
// in turn) compute the same elements.
//
//   failover: key = the VIP (ip/ip6 daddr), one element per VIP → the first backend that is
//             up, in the policy's order;
//   balance:  key = numgen slot 0..N-1 (N = backends), slot i → backend i while it is up,
//             else the next backend (cyclically) that is up.
// Unknown health counts as up. When no backend is up, each element keeps the backend it
// had (the last choice): refusing would turn failing checks into a certain outage.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/programmer.h"
#include "bulwark/firewall/ruleset.h"
#include "bulwark/policies/model.h"

namespace bulwark::firewall {

struct DnatBackend {
  std::string name;  // host name, or the address literal as written
  IpAddress address;
};

struct DnatPool {
  std::string map;  // the map's name in table inet bulwark
  policies::DnatMode mode = policies::DnatMode::Failover;
  policies::Family family = policies::Family::V4;
  std::vector<DnatBackend> backends;  // policy order
  std::string check;                  // the health check deciding; "" = none (all up)
  std::vector<IpAddress> vips;        // failover: the map's keys
  std::vector<std::string> entries;   // the dnat entries using the pool, in policy order
  [[nodiscard]] std::size_t slotCount() const { return mode == policies::DnatMode::Balance ? backends.size() : 1; }
};

enum class BackendHealth : std::uint8_t { Unknown, Up, Down };

// Per element key (failover: 1, balance: one per slot), the index of the backend it names.
using PoolChoice = std::vector<std::size_t>;

// The choice for `health` (one entry per backend); `previous` (may be empty: first choice)
// is kept where nothing is up.
[[nodiscard]] PoolChoice choosePool(const DnatPool& pool, const std::vector<BackendHealth>& health,
                                    const PoolChoice& previous = {});
[[nodiscard]] PoolChoice allUpChoice(const DnatPool& pool);

// The map's definition (elements: the choice with every backend up), as the compiler emits it.
[[nodiscard]] SetDef poolMapDef(const DnatPool& pool);

// The map's elements for a choice.
[[nodiscard]] std::vector<SetElement> poolElements(const DnatPool& pool, const PoolChoice& choice);

// `rs` with each pool's map holding the elements of its choice (pools whose map is not in
// `rs` are skipped; a missing choice means every backend up).
[[nodiscard]] Ruleset withPoolChoices(const Ruleset& rs, const std::vector<DnatPool>& pools,
                                      const std::vector<PoolChoice>& choices);

// From one choice to another: the element updates (removals + additions of the keys whose
// backend changed), for applyElementChanges().
struct PoolUpdate {
  std::vector<ElementChange> removals;
  std::vector<ElementChange> additions;
  [[nodiscard]] bool empty() const { return additions.empty(); }
};
[[nodiscard]] PoolUpdate poolUpdate(const DnatPool& pool, const PoolChoice& from, const PoolChoice& to);

// The choice a map's elements as found in the kernel make (the table a restarted bulwarkd
// adopts), or nullopt when they are not a choice of this pool: an element missing, extra or
// naming an address that is no backend of it.
[[nodiscard]] std::optional<PoolChoice> choiceOfElements(const DnatPool& pool, const std::vector<SetElement>& elements);

// The backends a choice passed over, so that the health which made it had them down: each
// element's search (failover: from the first backend; balance: from the slot's own) skipped
// them before reaching the backend it names. A backend some element names is never in it.
[[nodiscard]] std::vector<bool> passedOver(const DnatPool& pool, const PoolChoice& choice);

// "lb1 (203.0.113.11)" for each backend a choice uses, in key order, without repeats.
[[nodiscard]] std::vector<std::string> chosenBackends(const DnatPool& pool, const PoolChoice& choice);

}  // namespace bulwark::firewall
