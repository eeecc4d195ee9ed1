#include "ha_kinds.h"

#include <algorithm>
#include <chrono>

namespace bulwark::daemon {

namespace {

std::size_t lineCount(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// Lines of `want` not in `have` (a rough size of the change, for the plan).
std::size_t changedLines(const std::string& have, const std::string& want) {
  std::vector<std::string> a, b;
  std::string line;
  for (char c : have) {
    if (c == '\n') a.push_back(std::exchange(line, {}));
    else line += c;
  }
  for (char c : want) {
    if (c == '\n') b.push_back(std::exchange(line, {}));
    else line += c;
  }
  std::sort(a.begin(), a.end());
  std::size_t n = 0;
  for (const auto& l : b) {
    if (!std::binary_search(a.begin(), a.end(), l)) ++n;
  }
  return n;
}

class HaFileKind : public ResourceKind {
 public:
  HaFileKind(HaRuntime& rt, HaFile f) : rt_(rt), f_(f) {}

  std::string_view name() const override { return f_ == HaFile::Keepalived ? "keepalived" : "conntrackd"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    if (!policy.ha) return KindStatePtr{};
    auto view = rt_.view(policy);
    if (!view) return KindError{view.error().message, {}};
    std::string text = f_ == HaFile::Keepalived ? ha::renderKeepalived(*view, runtimePaths())
                                                : ha::renderConntrackd(*view, runtimePaths());
    if (f_ == HaFile::Keepalived) {
      auto st = rt_.checkKeepalived(text);
      if (!st) return KindError{st.error().message, {}};
    }
    return KindStatePtr(std::make_shared<HaFileState>(std::move(text), *view));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state) override {
    KindPlan p;
    const auto* s = dynamic_cast<const HaFileState*>(state.get());
    auto have = rt_.installed(f_);
    const std::string file = std::string(name()) + ".conf";
    if (s == nullptr) {
      if (have || rt_.running()) {
        p.inSync = false;
        p.changes.push_back("stop " + std::string(name()) + " and remove " + file);
      }
      return p;
    }
    if (!have) {
      p.inSync = false;
      p.changes.push_back("write " + file + " (" + std::to_string(lineCount(s->text)) + " lines) and start " +
                          std::string(name()));
    } else if (!rt_.running()) {
      p.inSync = false;
      p.changes.push_back("start " + std::string(name()) + " with " + file);
    } else if (*have != s->text) {
      p.inSync = false;
      p.changes.push_back("rewrite " + file + " (" + std::to_string(changedLines(*have, s->text)) + " lines differ) and " +
                          (f_ == HaFile::Keepalived ? "reload keepalived" : "restart conntrackd"));
    }
    return p;
  }

  KindResult<KindApplied> apply(const KindStatePtr& state) override {
    KindApplied out;
    auto p = plan(state);
    if (!p.ok()) return p.error();
    out.plan = p.value();
    if (out.plan.inSync) return out;
    auto t0 = std::chrono::steady_clock::now();
    const auto* s = dynamic_cast<const HaFileState*>(state.get());
    if (s == nullptr) {
      rt_.shutdown();
    } else {
      auto st = rt_.install(f_, s->text, s->view);
      if (!st) return KindError{st.error().message, {}};
      if (rt_.installed(f_) != s->text) return KindError{std::string(name()) + ".conf did not read back as written", {}};
    }
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  KindResult<KindStatePtr> adoptObserved() override {
    auto have = rt_.installed(f_);
    if (!have) return KindStatePtr{};
    return KindStatePtr(std::make_shared<HaFileState>(*have, std::nullopt));
  }

 private:
  ha::RuntimePaths runtimePaths() const { return rt_.paths(); }
  HaRuntime& rt_;
  HaFile f_;
};

}  // namespace

ResourceKindPtr makeKeepalivedKind(HaRuntime& runtime) { return std::make_unique<HaFileKind>(runtime, HaFile::Keepalived); }
ResourceKindPtr makeConntrackdKind(HaRuntime& runtime) { return std::make_unique<HaFileKind>(runtime, HaFile::Conntrackd); }

}  // namespace bulwark::daemon
