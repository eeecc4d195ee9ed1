#pragma once
// keepalived and conntrackd as resource kinds (after the firewall and the links, before the
// VPN): the desired state is the node's rendered configuration file; plan compares it with the
// file in the runtime directory; apply writes it and puts it in effect through HaRuntime
// (keepalived reloads, conntrackd restarts, both start once both files are there). A null
// state (no ha section) stops both and removes their files.
//
// desired() is not pure here: it resolves which node this machine is, checks that every
// interface the configuration names exists, and has the real keepalived check the rendered
// keepalived.conf (keepalived -t). So an ha section this node cannot run is refused before
// anything is changed (an API apply changes nothing; a reload keeps the last good state).
#include "ha_runtime.h"
#include "resource_kind.h"

namespace bulwark::daemon {

class HaFileState : public KindState {
 public:
  HaFileState(std::string t, std::optional<ha::NodeView> v) : text(std::move(t)), view(std::move(v)) {}
  std::string text;
  std::optional<ha::NodeView> view;  // nullopt: adopted from the file (the runtime keeps its view)
};

[[nodiscard]] ResourceKindPtr makeKeepalivedKind(HaRuntime& runtime);
[[nodiscard]] ResourceKindPtr makeConntrackdKind(HaRuntime& runtime);

}  // namespace bulwark::daemon
