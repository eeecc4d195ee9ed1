#pragma once
// RAII for libnftnl objects, and the conversions between our Op values and nftnl_expr.
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <memory>
#include <string>

#include "nl/ops.h"

namespace bulwark::firewall::nl {

struct TableDeleter {
  void operator()(nftnl_table* p) const { nftnl_table_free(p); }
};
struct ChainDeleter {
  void operator()(nftnl_chain* p) const { nftnl_chain_free(p); }
};
struct RuleDeleter {
  void operator()(nftnl_rule* p) const { nftnl_rule_free(p); }
};
struct SetDeleter {
  void operator()(nftnl_set* p) const { nftnl_set_free(p); }
};
struct ExprDeleter {
  void operator()(nftnl_expr* p) const { nftnl_expr_free(p); }
};
struct UdataDeleter {
  void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); }
};
struct ExprIterDeleter {
  void operator()(nftnl_expr_iter* p) const { nftnl_expr_iter_destroy(p); }
};
struct ElemIterDeleter {
  void operator()(nftnl_set_elems_iter* p) const { nftnl_set_elems_iter_destroy(p); }
};

using TablePtr = std::unique_ptr<nftnl_table, TableDeleter>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainDeleter>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleDeleter>;
using SetPtr = std::unique_ptr<nftnl_set, SetDeleter>;
using ExprPtr = std::unique_ptr<nftnl_expr, ExprDeleter>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, UdataDeleter>;
using ExprIterPtr = std::unique_ptr<nftnl_expr_iter, ExprIterDeleter>;
using ElemIterPtr = std::unique_ptr<nftnl_set_elems_iter, ElemIterDeleter>;

// Op → a new nftnl_expr (never null; aborts on OOM like libnftnl users do).
[[nodiscard]] ExprPtr toNftnl(const Op& op);
// nftnl_expr → Op (OpUnknown for expression types Bulwark never emits).
[[nodiscard]] Op fromNftnl(const nftnl_expr* e);

// Userdata with one string TLV (comments): encode / find.
[[nodiscard]] UdataPtr udataComment(std::uint8_t type, const std::string& comment);
[[nodiscard]] std::string udataFind(const void* data, std::uint32_t len, std::uint8_t type);

// A set's userdata exactly as nft writes it: key (and data) byte order hints, the typeof
// record of a concatenation, the comment (set_udata.cpp).
[[nodiscard]] UdataPtr setUserdata(const SetDef& s);
// nft's byte order hint for a key (0 = concatenation, 1 = host: ifname, 2 = big endian).
[[nodiscard]] std::uint32_t nftKeyByteorder(const std::vector<KeyType>& key);

}  // namespace bulwark::firewall::nl
