// The firewall plan as nft commands: what `nft` would have to run to get from the kernel's
// table to the policy's.
#include "bulwark/firewall/plan_lines.h"

#include <sstream>

#include "bulwark/firewall/render.h"

namespace bulwark::firewall {

namespace {

const std::string kTable = std::string("inet ") + kTableName;

std::string ruleTextAt(const std::optional<ObservedTable>& observed, const std::string& chain, std::size_t i,
                       std::uint64_t* handle) {
  if (!observed) return "";
  const auto* c = observed->findChain(chain);
  if (!c || i >= c->rules.size()) return "";
  const auto& r = c->rules[i];
  if (handle) *handle = r.handle;
  return r.rule ? renderRule(*r.rule) : "# not expressible by Bulwark: " + r.unknown;
}

}  // namespace

std::vector<std::string> planLines(const Ruleset* wanted, const std::optional<ObservedTable>& observed,
                                   const Diff& d) {
  static const Ruleset kNone;
  const Ruleset& desired = wanted != nullptr ? *wanted : kNone;
  std::vector<std::string> out;
  for (const auto& c : d.changes) {
    switch (c.kind) {
      case ChangeKind::TableRemoved: out.push_back("delete table " + kTable); break;
      case ChangeKind::TableAbsent: {
        std::istringstream in(renderTable(desired));
        out.push_back("add table " + kTable);
        for (std::string line; std::getline(in, line);) out.push_back("+ " + line);
        break;
      }
      case ChangeKind::SetAdded:
        if (const auto* s = desired.findSet(c.set)) {
          out.push_back("add " + renderSetHeader(*s).insert(renderSetHeader(*s).find(' ') + 1, kTable + " "));
          for (const auto& e : s->elements) {
            out.push_back("add element " + kTable + " " + c.set + " { " + renderSetElement(*s, e) + " }");
          }
        }
        break;
      case ChangeKind::SetRemoved: out.push_back("delete set " + kTable + " " + c.set); break;
      case ChangeKind::SetChanged:
        out.push_back("# " + c.description);
        out.push_back("delete set " + kTable + " " + c.set);
        if (const auto* s = desired.findSet(c.set)) {
          auto header = renderSetHeader(*s);
          out.push_back("add " + header.insert(header.find(' ') + 1, kTable + " "));
        }
        break;
      case ChangeKind::ElementAdded:
      case ChangeKind::ElementRemoved: {
        const auto* s = desired.findSet(c.set);
        if (!s && observed) {
          if (const auto* o = observed->findSet(c.set)) s = &o->def;
        }
        std::string elem = s && c.element ? renderSetElement(*s, *c.element) : c.description;
        out.push_back(std::string(c.kind == ChangeKind::ElementAdded ? "add" : "delete") + " element " + kTable +
                      " " + c.set + " { " + elem + " }");
        break;
      }
      case ChangeKind::ChainAdded:
        if (const auto* ch = desired.findChain(c.chain)) {
          auto header = renderChainHeader(*ch);
          out.push_back("add " + header.insert(header.find(' ') + 1, kTable + " "));
          for (const auto& r : ch->rules) out.push_back("add rule " + kTable + " " + c.chain + " " + renderRule(r));
        }
        break;
      case ChangeKind::ChainRemoved: out.push_back("delete chain " + kTable + " " + c.chain); break;
      case ChangeKind::ChainChanged: out.push_back("# " + c.description); break;
      case ChangeKind::RuleAdded:
        if (const auto* ch = desired.findChain(c.chain); ch && c.ruleIndex < ch->rules.size()) {
          out.push_back("add rule " + kTable + " " + c.chain + " " + renderRule(ch->rules[c.ruleIndex]) +
                        "  # as rule " + std::to_string(c.ruleIndex + 1));
        }
        break;
      case ChangeKind::RuleRemoved:
      case ChangeKind::RuleChanged: {
        std::uint64_t handle = 0;
        auto have = ruleTextAt(observed, c.chain, c.ruleIndex, &handle);
        if (c.kind == ChangeKind::RuleRemoved) {
          out.push_back("delete rule " + kTable + " " + c.chain + " handle " + std::to_string(handle) + "  # " + have);
        } else if (const auto* ch = desired.findChain(c.chain); ch && c.ruleIndex < ch->rules.size()) {
          out.push_back("# " + c.description);
          out.push_back("replace rule " + kTable + " " + c.chain + " handle <rule " + std::to_string(c.ruleIndex + 1) +
                        "> " + renderRule(ch->rules[c.ruleIndex]));
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace bulwark::firewall
