#pragma once
// keepalived and conntrackd as resource kinds (after the firewall and the links, before the
// VPN): the desired state is the node's rendered configuration file; observe reads the file in
// the runtime directory (and whether the daemons run); apply writes it and puts it in effect
// through the node's HA runtime (bulwarkd's HaRuntime: keepalived reloads, conntrackd
// restarts, both start once both files are there), then reads the file back. A null state (no
// ha section) stops both and removes their files.
//
// desired() is not pure here: it resolves which node this machine is, checks that every
// interface the configuration names exists, and has the real keepalived check the rendered
// keepalived.conf (keepalived -t). So an ha section this node cannot run is refused before
// anything is changed (an API apply changes nothing; a reload keeps the last good state).
#include <optional>
#include <string>

#include "bulwark/ha/node_view.h"
#include "bulwark/ha/render.h"
#include "resource_kind.h"

namespace bulwark::engine {

enum class HaFile { Keepalived, Conntrackd };

// What the two kinds need of the node's HA runtime (implemented by bulwarkd's HaRuntime).
// observe() may run on the policy worker: view, checkKeepalived, installed and running must
// be callable there.
class HaFiles {
 public:
  virtual ~HaFiles() = default;
  // This node's view of `policy` (which node it is), every interface it names checked.
  [[nodiscard]] virtual ha::Result<ha::NodeView> view(const policies::Policy& policy) const = 0;
  // `keepalived -t` of a rendering.
  [[nodiscard]] virtual ha::Status checkKeepalived(const std::string& text) const = 0;
  [[nodiscard]] virtual std::optional<std::string> installed(HaFile f) const = 0;  // the file now
  // Write the file and put it in effect (`view`: nullopt for a file adopted from disk).
  [[nodiscard]] virtual ha::Status install(HaFile f, const std::string& text,
                                           const std::optional<ha::NodeView>& view) = 0;
  virtual void shutdown() = 0;  // stop both daemons, remove the runtime files
  [[nodiscard]] virtual bool running() const = 0;
  [[nodiscard]] virtual const ha::RuntimePaths& paths() const = 0;
};

class HaFileState : public KindState {
 public:
  HaFileState(std::string t, std::optional<ha::NodeView> v) : text(std::move(t)), view(std::move(v)) {}
  std::string text;
  std::optional<ha::NodeView> view;  // nullopt: adopted from the file (the runtime keeps its view)
};

[[nodiscard]] ResourceKindPtr makeKeepalivedKind(HaFiles& runtime);
[[nodiscard]] ResourceKindPtr makeConntrackdKind(HaFiles& runtime);

}  // namespace bulwark::engine
