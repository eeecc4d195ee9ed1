#include "applied_policy.h"

#include <algorithm>

#include "bulwark/policies/validator.h"
#include "policy_sides.h"

namespace bulwark::cli {

namespace {

constexpr std::string_view kHead = "HEAD";

// HEAD's sources named as the working tree's (readRevision names them "HEAD:path"): the rule
// comments in the kernel carry the file name, so the names must be the ones an apply used.
std::vector<policies::Source> asWorkingTree(std::vector<policies::Source> sources) {
  const std::string prefix = std::string(kHead) + ":";
  for (auto& s : sources) {
    if (s.name.rfind(prefix, 0) == 0) s.name.erase(0, prefix.size());
  }
  return sources;
}

// Why HEAD is not what the kernel holds; "" when it is.
std::string headDiffers(engine::ApplyEngine& eng, const std::vector<policies::Source>& head,
                        const std::vector<std::size_t>& kinds) {
  auto loaded = policies::loadPolicy(head);
  if (!loaded.diagnostics.hasErrors()) policies::validatePolicy(loaded.policy, loaded.diagnostics);
  if (loaded.diagnostics.hasErrors()) return "HEAD's policy does not validate";
  auto desired = eng.desired(loaded.policy);
  for (auto i : kinds) {
    const auto name = std::string(eng.kind(i).name());
    if (!desired[i]) return "HEAD's " + name + " does not compile";
    auto p = eng.plan(i, *desired[i]);
    if (!p) return "cannot read the " + name + " to compare: " + p.error().message;
    if (!p->plan.inSync) {
      return "the kernel's " + name + " is not HEAD's (" + std::to_string(p->plan.changes.size()) + " difference(s))";
    }
  }
  return {};
}

}  // namespace

review::AppliedPolicy appliedInKernel(engine::ApplyEngine& eng, const std::string& path,
                                      const std::vector<std::size_t>& kinds, bool proposedInSync,
                                      const std::vector<policies::Source>& proposed) {
  review::AppliedPolicy out;
  auto head = readRevision(path, std::string(kHead));
  std::string why;
  if (!head.ok()) {
    why = head.error;
  } else {
    auto sources = asWorkingTree(std::move(head.input.sources));
    // HEAD is the proposed policy itself (nothing uncommitted) and the plan found the kernel
    // in sync with it: no second observe of the kernel to learn the same.
    const bool same = std::equal(sources.begin(), sources.end(), proposed.begin(), proposed.end(),
                                 [](const auto& a, const auto& b) { return a.name == b.name && a.text == b.text; });
    why = same && proposedInSync ? "" : headDiffers(eng, sources, kinds);
    if (why.empty()) {
      out.input = review::ReviewInput{"HEAD (what the kernel holds)", std::move(sources)};
      return out;
    }
  }
  if (proposedInSync) {
    out.input = review::ReviewInput{"what the kernel holds (this policy)", proposed};
    return out;
  }
  out.unknown = "the policy the kernel holds is unknown: " + why;
  return out;
}

}  // namespace bulwark::cli
