#pragma once
// The segment links (VLAN sub-interfaces Bulwark creates, plain interfaces it adopts) as a
// resource kind: the desired LinkSet → vlan::observe()/diff() → vlan::applyLinks(). Ownership
// is the interface alias ("bulwark:<segment>", see vlan/links.h): a null state ("Bulwark owns
// nothing") deletes the VLANs Bulwark created and takes back the addresses it added.
#include "bulwark/vlan/links.h"
#include "resource_kind.h"

namespace bulwark::engine {

class LinksState : public KindState {
 public:
  explicit LinksState(vlan::LinkSet s) : set(std::move(s)) {}
  vlan::LinkSet set;
};

// `haNode`: bulwarkd --ha's node (its --node, else /etc/bulwark/node, else the hostname):
// a pair's links carry the node's own addresses and leave the floating ones to keepalived.
// Without --ha a policy with an ha: section makes the kind fail (both nodes would hold the
// gateway addresses).
[[nodiscard]] ResourceKindPtr makeLinksKind(bool ha = false, std::string haNode = {});

// Pure, for tests: the owned links of an observed state as a LinkSet that, applied again,
// puts them back as they are (VLANs Bulwark created with their addresses; adopted interfaces
// with the addresses Bulwark recorded).
[[nodiscard]] vlan::LinkSet ownedLinks(const vlan::ObservedState& observed);

}  // namespace bulwark::engine
