#pragma once
// Helpers for firewall tests: compile a policy from text or an example file.
#include <gtest/gtest.h>

#include <string>

#include "bulwark/firewall/compiler.h"
#include "bulwark/firewall/diff.h"
#include "bulwark/firewall/observe.h"
#include "bulwark/policies/loader.h"
#include "bulwark/policies/validator.h"

namespace bulwark::firewall::testing {

struct Compiled {
  policies::Policy policy;
  CompileResult result;
};

inline Compiled compileText(const std::string& yaml) {
  auto loaded = policies::loadPolicyText(yaml, "t.yaml");
  policies::validatePolicy(loaded.policy, loaded.diagnostics);
  for (const auto& d : loaded.diagnostics.items()) {
    ADD_FAILURE() << "unexpected diagnostic: " << d.str();
  }
  Compiled c{std::move(loaded.policy), {}};
  c.result = compile(c.policy);
  return c;
}

inline Compiled compileExample(const std::string& name) {
  auto loaded = policies::loadAndValidate(std::string(BULWARK_EXAMPLES_DIR) + "/" + name);
  EXPECT_FALSE(loaded.diagnostics.hasErrors());
  Compiled c{std::move(loaded.policy), {}};
  c.result = compile(c.policy);
  return c;
}

// What observe() would read back after `rs` was programmed (rules in the kernel's form).
inline ObservedTable asObserved(const Ruleset& rs) {
  ObservedTable t;
  for (const auto& s : rs.sets) t.sets.push_back(ObservedSet{s, {}, {}, 0});
  for (const auto& c : rs.chains) {
    ObservedChain oc{c.name, c.base, c.comment, 0, {}, {}};
    for (const auto& r : c.rules) oc.rules.push_back(ObservedRule{canonicalRule(r), {}, r.comment(), 0, false, 0, 0});
    t.chains.push_back(std::move(oc));
  }
  return t;
}

// A small two-segment policy other tests extend.
inline const char* kSmallPolicy = R"(gateway: { uplink: wan0, trunk: trk0 }
segments:
  - name: app
    vlan: 20
    ipv4: { subnet: 10.20.0.0/24, gateway: 10.20.0.1 }
  - name: db
    vlan: 30
    ipv4: { subnet: 10.30.0.0/24, gateway: 10.30.0.1 }
hosts:
  - { name: web1, segment: app, addresses: [10.20.0.11] }
  - { name: web2, segment: app, addresses: [10.20.0.12] }
  - { name: web3, segment: app, addresses: [10.20.0.13] }
  - { name: mysql1, segment: db, addresses: [10.30.0.11] }
services:
  - { name: mysql, ports: [tcp/3306] }
rules:
  - name: web-to-db
    from: [web1]
    to: mysql1
    services: [mysql]
    action: allow
)";

}  // namespace bulwark::firewall::testing
