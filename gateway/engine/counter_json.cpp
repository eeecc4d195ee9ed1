#include "counter_json.h"

namespace bulwark::engine {

nlohmann::json pairTotalJson(const firewall::PairTotal& p) {
  return {{"from", p.from},
          {"to", p.to},
          {"packets", p.packets},
          {"bytes", p.bytes},
          {"drop_packets", p.dropPackets},
          {"drop_bytes", p.dropBytes},
          {"established_packets", p.establishedPackets},
          {"established_bytes", p.establishedBytes},
          {"reply_packets", p.replyPackets},
          {"reply_bytes", p.replyBytes},
          {"shared_rules", p.sharedRules}};
}

}  // namespace bulwark::engine
