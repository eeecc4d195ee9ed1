#pragma once
// One zone pair's totals as JSON: the `counters` reply (protocol.h documents the fields) and
// `bulwarkctl counters --json` print the same object, so the two cannot drift apart.
#include <nlohmann/json.hpp>

#include "bulwark/firewall/counters.h"

namespace bulwark::engine {

[[nodiscard]] nlohmann::json pairTotalJson(const firewall::PairTotal& p);

}  // namespace bulwark::engine
