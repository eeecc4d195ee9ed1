// Sets as the kernel reports them, judged without the programmer's view: the userdata hints
// nft needs are derived from the kernel's key type with a table of our own, and map elements
// must carry the goto the IR says, whatever the programmer sent.
#include "observe_sets.h"

#include <linux/netfilter/nf_tables.h>

#include <cstdint>
#include <optional>

#include "nl/nftnl.h"
#include "nl/ops.h"

namespace bulwark::firewall {
namespace {

constexpr std::uint32_t kNftTypeBits = 6;  // concatenations: 6 bits per field

// nft's enum byteorder: what `nft list` expects for a key of this kernel type id, as nft 1.0.6
// writes it (read from the kernel after `nft -f`): strings and integers (the numgen slot)
// host order, inet_proto none, addresses and services big endian.
std::uint32_t byteorderFor(std::uint32_t keyType) {
  if (keyType >= (1u << kNftTypeBits)) return 0;  // concatenation: per field, from the type
  if (keyType == nl::keyTypeId(KeyType::IfName) || keyType == nl::keyTypeId(KeyType::Slot)) return 1;
  if (keyType == nl::keyTypeId(KeyType::InetProto)) return 0;
  return 2;
}

std::optional<std::uint32_t> keyByteorder(const void* data, std::uint32_t len) {
  std::optional<std::uint32_t> found;
  nftnl_udata_parse(
      data, len,
      [](const nftnl_udata* attr, void* p) -> int {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_KEYBYTEORDER &&
            nftnl_udata_len(attr) == sizeof(std::uint32_t)) {
          *static_cast<std::optional<std::uint32_t>*>(p) = nftnl_udata_get_u32(attr);
        }
        return 0;
      },
      &found);
  return found;
}

void addProblem(std::string& to, const std::string& what) { to += (to.empty() ? "" : "; ") + what; }

nl::Bytes elemData(nftnl_set_elem* e, std::uint16_t attr) {
  std::uint32_t len = 0;
  const auto* p = static_cast<const std::uint8_t*>(nftnl_set_elem_get(e, attr, &len));
  return p == nullptr ? nl::Bytes{} : nl::Bytes(p, p + len);
}

}  // namespace

std::string nftHintProblem(const nftnl_set* s) {
  const std::uint32_t want = byteorderFor(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE));
  std::optional<std::uint32_t> have;
  if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
    std::uint32_t len = 0;
    const void* d = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
    have = keyByteorder(d, len);
  }
  if (have == want || (!have && want == 0)) return "";
  return "key byte order hint " + (have ? std::to_string(*have) : std::string("missing")) +
         ", nft needs " + std::to_string(want) + " to list its keys";
}

ObservedSet toObservedSet(const nftnl_set* s) {
  ObservedSet o;
  o.def.name = nftnl_set_get_str(s, NFTNL_SET_NAME);
  o.handle = nftnl_set_get_u64(s, NFTNL_SET_HANDLE);
  const std::uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
  auto keys = nl::keyTypesFromId(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
                                 nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
  if (keys) {
    o.def.key = *keys;
  } else {
    o.unknown = "key type " + std::to_string(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE)) + " len " +
                std::to_string(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
  }
  o.def.interval = (flags & NFT_SET_INTERVAL) != 0;
  o.def.dynamic = (flags & NFT_SET_EVAL) != 0;
  if ((flags & NFT_SET_MAP) != 0) {
    const std::uint32_t dataType = nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE);
    const std::uint32_t dataLen = nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN);
    if (dataType == NFT_DATA_VERDICT) {
      o.def.verdictMap = true;
    } else if (dataType == nl::keyTypeId(KeyType::Ipv4Addr) && dataLen == 4) {
      o.def.addressMap = policies::Family::V4;  // a DNAT pool's slot → backend map
    } else if (dataType == nl::keyTypeId(KeyType::Ipv6Addr) && dataLen == 16) {
      o.def.addressMap = policies::Family::V6;
    } else {
      addProblem(o.unknown, "map to data Bulwark does not use");
    }
  }
  const std::uint32_t known =
      NFT_SET_INTERVAL | NFT_SET_CONCAT | NFT_SET_MAP | NFT_SET_EVAL | NFT_SET_TIMEOUT;
  if ((flags & ~known) != 0) {
    addProblem(o.unknown, "set flags " + std::to_string(flags));
  }
  if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT)) {
    o.def.timeoutSec = static_cast<std::uint32_t>(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT) / 1000);
  }
  if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE)) {
    o.def.size = nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE);
  }
  if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
    std::uint32_t len = 0;
    const void* d = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
    o.def.comment = nl::udataFind(d, len, NFTNL_UDATA_SET_COMMENT);
    o.def.numgenMod = nl::numgenModOfUserdata(d, len);
  }
  const bool slotKey = o.def.key.size() == 1 && o.def.key[0] == KeyType::Slot;
  if (slotKey != (o.def.numgenMod != 0) || (slotKey && !o.def.addressMap)) {
    addProblem(o.unknown, "integer key without Bulwark's numgen map shape");
  }
  if (auto hint = nftHintProblem(s); !hint.empty()) {
    addProblem(o.unknown, hint);
  }
  return o;
}

void takeElements(const nftnl_set* s, ObservedSet& os) {
  std::vector<nl::RawElement> raw;
  nl::ElemIterPtr it(nftnl_set_elems_iter_create(s));
  for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr;
       e = nftnl_set_elems_iter_next(it.get())) {
    nl::RawElement x;
    x.key = elemData(e, NFTNL_SET_ELEM_KEY);
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
      x.data = elemData(e, NFTNL_SET_ELEM_DATA);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
      x.keyEnd = elemData(e, NFTNL_SET_ELEM_KEY_END);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)) {
      x.intervalEnd =
          (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END) != 0;
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) {
      x.jumpTo = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
    }
    // A jump returns into the calling chain and carries on there: another firewall than the
    // IR's goto, though it reaches the same chain. Reported as an element Bulwark cannot
    // express, so the diff shows it and the next apply replaces it.
    if (os.def.verdictMap && !x.intervalEnd) {
      const bool hasVerdict = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT);
      const auto verdict =
          hasVerdict ? static_cast<std::int32_t>(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT))
                     : 0;
      if (!hasVerdict || verdict != NFT_GOTO) {
        const std::string what = !hasVerdict           ? "no verdict"
                                 : verdict == NFT_JUMP ? "jump"
                                                       : "verdict " + std::to_string(verdict);
        os.unknownElements.push_back(nl::hex(x.key) + " : " + what +
                                     (x.jumpTo ? " " + *x.jumpTo : "") +
                                     " (Bulwark's map elements are goto)");
        continue;
      }
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
      std::uint32_t len = 0;
      const void* d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
      x.comment = nl::udataFind(d, len, NFTNL_UDATA_SET_ELEM_COMMENT);
    }
    raw.push_back(std::move(x));
  }
  auto dec = nl::decodeElements(os.def, std::move(raw));
  os.def.elements = std::move(dec.elements);
  os.unknownElements.insert(os.unknownElements.end(), dec.unknown.begin(), dec.unknown.end());
}

}  // namespace bulwark::firewall
