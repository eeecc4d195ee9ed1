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

// The deleter of every libnftnl object: each type's own free function.
struct NftnlFree {
  void operator()(nftnl_table* p) const { nftnl_table_free(p); }
  void operator()(nftnl_chain* p) const { nftnl_chain_free(p); }
  void operator()(nftnl_rule* p) const { nftnl_rule_free(p); }
  void operator()(nftnl_set* p) const { nftnl_set_free(p); }
  void operator()(nftnl_expr* p) const { nftnl_expr_free(p); }
  void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); }
  void operator()(nftnl_expr_iter* p) const { nftnl_expr_iter_destroy(p); }
  void operator()(nftnl_set_elems_iter* p) const { nftnl_set_elems_iter_destroy(p); }
};

using TablePtr = std::unique_ptr<nftnl_table, NftnlFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, NftnlFree>;
using RulePtr = std::unique_ptr<nftnl_rule, NftnlFree>;
using SetPtr = std::unique_ptr<nftnl_set, NftnlFree>;
using ExprPtr = std::unique_ptr<nftnl_expr, NftnlFree>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, NftnlFree>;
using ExprIterPtr = std::unique_ptr<nftnl_expr_iter, NftnlFree>;
using ElemIterPtr = std::unique_ptr<nftnl_set_elems_iter, NftnlFree>;

// Op → a new nftnl_expr (never null; aborts on OOM like libnftnl users do).
[[nodiscard]] ExprPtr toNftnl(const Op& op);
// nftnl_expr → Op (OpUnknown for expression types Bulwark never emits).
[[nodiscard]] Op fromNftnl(const nftnl_expr* e);

// Userdata with one string TLV (comments): encode / find.
[[nodiscard]] UdataPtr udataComment(std::uint8_t type, const std::string& comment);
[[nodiscard]] std::string udataFind(const void* data, std::uint32_t len, std::uint8_t type);

}  // namespace bulwark::firewall::nl
