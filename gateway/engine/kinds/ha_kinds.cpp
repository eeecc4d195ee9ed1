#include "ha_kinds.h"

#include <algorithm>
#include <chrono>

namespace bulwark::engine {

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

// The file as it is in the runtime directory, and whether the daemons run.
class HaFileObserved : public KindObserved {
 public:
  HaFileObserved(std::optional<std::string> f, bool r) : file(std::move(f)), running(r) {}
  std::optional<std::string> file;
  bool running = false;
};

class HaFileKind : public ResourceKind {
 public:
  HaFileKind(HaFiles& rt, HaFile f) : rt_(rt), f_(f) {}

  std::string_view name() const override { return f_ == HaFile::Keepalived ? "keepalived" : "conntrackd"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    if (!policy.ha) return KindStatePtr{};
    auto view = rt_.view(policy);
    if (!view) return KindError{view.error().message, {}, false};
    std::string text = f_ == HaFile::Keepalived ? ha::renderKeepalived(*view, rt_.paths())
                                                : ha::renderConntrackd(*view, rt_.paths());
    if (f_ == HaFile::Keepalived) {
      auto st = rt_.checkKeepalived(text);
      if (!st) return KindError{st.error().message, {}, false};
    }
    return KindStatePtr(std::make_shared<HaFileState>(std::move(text), *view));
  }

  KindResult<KindObservedPtr> observe(const KindStatePtr&) override {
    return KindObservedPtr(std::make_shared<HaFileObserved>(rt_.installed(f_), rt_.running()));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state, const KindObservedPtr& observed) override {
    const auto* o = dynamic_cast<const HaFileObserved*>(observed.get());
    if (o == nullptr) return KindError{std::string(name()) + ": nothing observed to plan against", {}, false};
    KindPlan p;
    const auto* s = dynamic_cast<const HaFileState*>(state.get());
    const std::string file = std::string(name()) + ".conf";
    if (s == nullptr) {
      if (o->file || o->running) {
        p.inSync = false;
        p.changes.push_back("stop " + std::string(name()) + " and remove " + file);
      }
    } else if (!o->file) {
      p.inSync = false;
      p.changes.push_back("write " + file + " (" + std::to_string(lineCount(s->text)) + " lines) and start " +
                          std::string(name()));
    } else if (!o->running) {
      p.inSync = false;
      p.changes.push_back("start " + std::string(name()) + " with " + file);
    } else if (*o->file != s->text) {
      p.inSync = false;
      p.changes.push_back("rewrite " + file + " (" + std::to_string(changedLines(*o->file, s->text)) +
                          " lines differ) and " + (f_ == HaFile::Keepalived ? "reload keepalived" : "restart conntrackd"));
    }
    p.commands = p.changes;
    return p;
  }

  KindResult<KindApplied> apply(const KindStatePtr& state, const KindPlan& plan) override {
    KindApplied out;
    out.plan = plan;
    if (out.plan.inSync) return out;
    auto t0 = std::chrono::steady_clock::now();
    const auto* s = dynamic_cast<const HaFileState*>(state.get());
    if (s == nullptr) {
      rt_.shutdown();
    } else {
      auto st = rt_.install(f_, s->text, s->view);
      // install() writes the file before it starts or signals the daemon: a failure may
      // follow a write, so the engine restores what this kind held.
      if (!st) return KindError{st.error().message, {}, true};
      // Read back: the runtime directory must now hold exactly the rendering.
      if (rt_.installed(f_) != s->text) {
        return KindError{std::string(name()) + ".conf did not read back as written", {}, true};
      }
    }
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    out.counts = s == nullptr ? "stopped" : "1 file";
    return out;
  }

  KindResult<KindStatePtr> adopt(const KindObservedPtr& observed) override {
    const auto* o = dynamic_cast<const HaFileObserved*>(observed.get());
    if (o == nullptr || !o->file) return KindStatePtr{};
    return KindStatePtr(std::make_shared<HaFileState>(*o->file, std::nullopt));
  }

 private:
  HaFiles& rt_;
  HaFile f_;
};

}  // namespace

ResourceKindPtr makeKeepalivedKind(HaFiles& runtime) { return std::make_unique<HaFileKind>(runtime, HaFile::Keepalived); }
ResourceKindPtr makeConntrackdKind(HaFiles& runtime) { return std::make_unique<HaFileKind>(runtime, HaFile::Conntrackd); }

}  // namespace bulwark::engine
