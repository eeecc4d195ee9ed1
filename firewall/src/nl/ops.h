#pragma once
// The nf_tables expressions Bulwark emits, as plain values: the bridge between the IR and
// libnftnl. lower() turns IR expressions into this list (the same list nft 1.0.6 generates
// for the same rule: see netlink_linearize.c), raise() turns a list read back from the
// kernel into IR again. Both pure; exprs.cpp converts these to/from nftnl_expr.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall::nl {

using Bytes = std::vector<std::uint8_t>;

struct OpMeta {  // meta load <key> => reg
  std::uint32_t key = 0;
  std::uint32_t dreg = 0;
};
struct OpPayload {  // payload load <len>b @ <base> + <offset> => reg
  std::uint32_t base = 0;
  std::uint32_t offset = 0;
  std::uint32_t len = 0;
  std::uint32_t dreg = 0;
};
struct OpCmp {
  std::uint32_t sreg = 0;
  std::uint32_t op = 0;  // NFT_CMP_*
  Bytes data;
};
struct OpBitwise {  // reg = (reg & mask) ^ xor
  std::uint32_t sreg = 0;
  std::uint32_t dreg = 0;
  std::uint32_t len = 0;
  Bytes mask;
  Bytes xorv;
};
struct OpByteorder {
  std::uint32_t sreg = 0;
  std::uint32_t dreg = 0;
  std::uint32_t op = 0;
  std::uint32_t len = 0;
  std::uint32_t size = 0;
};
struct OpCt {
  std::uint32_t key = 0;
  std::uint32_t dreg = 0;
};
struct OpFib {
  std::uint32_t flags = 0;
  std::uint32_t result = 0;
  std::uint32_t dreg = 0;
};
struct OpLimit {
  std::uint64_t rate = 0;
  std::uint64_t unit = 0;  // seconds
  std::uint32_t burst = 0;
  std::uint32_t type = 0;   // NFT_LIMIT_PKTS
  std::uint32_t flags = 0;  // NFT_LIMIT_F_INV
};
struct OpConnlimit {
  std::uint32_t count = 0;
  std::uint32_t flags = 0;  // NFT_CONNLIMIT_F_INV
};
struct OpLookup {
  std::uint32_t sreg = 0;
  std::string set;
  std::optional<std::uint32_t> dreg;  // 0 (verdict) for vmaps
  std::uint32_t flags = 0;            // NFT_LOOKUP_F_INV
};
struct OpDynset {
  std::uint32_t op = 0;  // NFT_DYNSET_OP_ADD / UPDATE
  std::uint32_t sregKey = 0;
  std::string set;
  std::variant<std::monostate, OpLimit, OpConnlimit> inner;
};
struct OpLog {
  std::string prefix;
  std::optional<std::uint32_t> level;
};
struct OpNat {
  std::uint32_t type = 0;    // NFT_NAT_SNAT / DNAT
  std::uint32_t family = 0;  // NFPROTO_IPV4 / IPV6
  std::uint32_t regAddrMin = 0, regAddrMax = 0, regProtoMin = 0, regProtoMax = 0;  // 0 = unset
  std::uint32_t flags = 0;
};
struct OpMasq {};
struct OpCounter {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};
struct OpImmData {
  std::uint32_t dreg = 0;
  Bytes data;
};
struct OpImmVerdict {
  std::int32_t verdict = 0;  // NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO, NFT_RETURN
  std::string chain;
};
struct OpReject {
  std::uint32_t type = 0;
  std::uint32_t code = 0;
};
struct OpNumgen {  // numgen reg = inc mod N (+ offset)
  std::uint32_t dreg = 0;
  std::uint32_t modulus = 0;
  std::uint32_t type = 0;  // NFT_NG_INCREMENTAL
  std::uint32_t offset = 0;
};
struct OpUnknown {  // read back only: an expression Bulwark never emits
  std::string text;
};

using Op = std::variant<OpMeta, OpPayload, OpCmp, OpBitwise, OpByteorder, OpCt, OpFib, OpLimit,
                        OpConnlimit, OpLookup, OpDynset, OpLog, OpNat, OpMasq, OpCounter,
                        OpImmData, OpImmVerdict, OpReject, OpNumgen, OpUnknown>;

// IR rule → expressions (without the rule's comment).
[[nodiscard]] std::vector<Op> lower(const Rule& rule);

struct Raised {
  bool ok = false;
  std::vector<Expr> exprs;
  Verdict verdict;
  std::string problem;  // !ok: what did not match, with the op index
  bool hasCounter = false;
  std::uint64_t packets = 0, bytes = 0;
};
// Expressions → IR rule body; fails on anything lower() never produces.
[[nodiscard]] Raised raise(const std::vector<Op>& ops);

[[nodiscard]] std::string describeOp(const Op& op);

// ---- key encodings (sets and elements) ----------------------------------------------------
[[nodiscard]] std::uint32_t keyTypeLen(KeyType t);     // natural length in bytes
[[nodiscard]] std::uint32_t keyTypeId(KeyType t);      // nft datatype id (TYPE_*)
[[nodiscard]] std::uint32_t setKeyLen(const SetDef& s);  // with 4-byte rounding for concats
[[nodiscard]] std::uint32_t setKeyTypeId(const SetDef& s);  // concatenated type id
// from a kernel key type id + length: the key types (nullopt: not something Bulwark makes)
[[nodiscard]] std::optional<std::vector<KeyType>> keyTypesFromId(std::uint32_t id, std::uint32_t len);

struct EncodedElement {
  Bytes key;
  std::optional<Bytes> data;    // address maps: the target address
  std::optional<Bytes> keyEnd;  // concatenated ranges (pipapo)
  bool intervalEnd = false;     // single-field interval sets: the exclusive end marker
};
// The kernel elements for one IR element: 1 for hash sets and concat interval sets; 1 or 2
// (start + end marker) for single-field interval sets. Error text on a malformed element.
struct EncodeResult {
  std::vector<EncodedElement> elems;
  std::string error;
};
[[nodiscard]] EncodeResult encodeElement(const SetDef& set, const SetElement& e);

// Kernel elements → IR keys. `raw` is what a dump returned (flags: interval end).
struct RawElement {
  Bytes key;
  std::optional<Bytes> data;  // address maps
  std::optional<Bytes> keyEnd;
  bool intervalEnd = false;
  std::optional<std::string> jumpTo;
  std::string comment;
};
struct DecodeResult {
  std::vector<SetElement> elements;
  std::vector<std::string> unknown;
};
[[nodiscard]] DecodeResult decodeElements(const SetDef& set, std::vector<RawElement> raw);

[[nodiscard]] std::string hex(const Bytes& b);

// Set userdata as nft 1.0.6 writes it (key/data byte order, typeof for concatenations and
// numgen keys, comment): `nft list` prints a set from it (`typeof numgen ...`, an ifname
// key), so the kernel's listing of Bulwark's table equals that of `nft -f` of the render.
[[nodiscard]] Bytes setUserdata(const SetDef& s);
// The `mod N` of a set whose userdata says `typeof numgen inc mod N` (0: none).
[[nodiscard]] std::uint32_t numgenModOfUserdata(const void* data, std::uint32_t len);

}  // namespace bulwark::firewall::nl
