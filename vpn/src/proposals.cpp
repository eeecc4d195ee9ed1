// The gateway's proposals (proposals.h).
#include "bulwark/vpn/proposals.h"

namespace bulwark::vpn {

Proposals gatewayProposals(const policies::Vpn& vpn) {
  return Proposals{vpn.ikeProposals.empty() ? kDefaultIkeProposals : vpn.ikeProposals,
                   vpn.espProposals.empty() ? kDefaultEspProposals : vpn.espProposals};
}

Proposals defaultProposals() { return Proposals{kDefaultIkeProposals, kDefaultEspProposals}; }

}  // namespace bulwark::vpn
