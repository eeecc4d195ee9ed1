#pragma once
// The read-back's judgement of a set as the kernel reports it (definition, userdata, elements),
// apart from the netlink dumps in observe.cpp so that unit tests can hand it kernel states the
// programmer would never write (a `jump` element, userdata without nft's hints).
#include <string>

#include "bulwark/firewall/observe.h"

struct nftnl_set;

namespace bulwark::firewall {

// A set from a GETSET dump. Anything Bulwark would not have written lands in `unknown`, which
// the diff reports as a changed definition.
[[nodiscard]] ObservedSet toObservedSet(const nftnl_set* s);

// The elements of a GETSETELEM dump (parsed into `s`) into `os`. A verdict-map element that is
// not a goto is not Bulwark's: the IR, render and the evaluator all go to the zone chain.
void takeElements(const nftnl_set* s, ObservedSet& os);

// "" when nft would list the set's keys as stored; else what it would get wrong. nft formats
// keys from the byte order hint in the userdata (NFTNL_UDATA_SET_KEYBYTEORDER), not from the
// kernel's key type: a `type ifname` set without it lists every key as "".
[[nodiscard]] std::string nftHintProblem(const nftnl_set* s);

}  // namespace bulwark::firewall
