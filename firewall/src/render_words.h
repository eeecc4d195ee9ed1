#pragma once
// The nft spelling of the IR pieces that both the renderer (render.cpp) and the diff's
// descriptions (observe_diff.cpp) print: one spelling, so a plan line and a rendered rule
// never drift apart. And the one spelling of a set element in the diff's and the
// programmer's messages.
#include <string>
#include <vector>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall {

[[nodiscard]] std::string selectorText(Selector s);                   // "ip saddr"
[[nodiscard]] std::string keyText(const std::vector<Selector>& key);  // "ip saddr . th dport"
[[nodiscard]] std::string portsText(const PortRange& r);              // "22", "1000-2000"
[[nodiscard]] std::string limitText(const StmtLimit& l);              // "limit rate 10/second burst 5 packets"
[[nodiscard]] std::string verdictText(const Verdict& v);              // "jump x"; "" for none

// An element's key, goto and target, with raw numbers and quoted names
// ("\"eth0\" . 6 . 10.0.0.0/8 : goto x"). `bareHosts`: a host prefix without its /32 or /128.
[[nodiscard]] std::string elementText(const SetElement& e, bool bareHosts);

}  // namespace bulwark::firewall
