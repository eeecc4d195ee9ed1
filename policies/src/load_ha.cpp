#include "load_ha.h"

#include <charconv>

namespace bulwark::policies::detail {

namespace {

class HaLoader {
 public:
  explicit HaLoader(YamlReader& r) : r_(r) {}

  std::optional<Ha> load(const Field& section) {
    Ha ha;
    auto fields = entry(section.value, r_.loc(section), "ha",
                        {"nodes", "uplink", "sync", "vrrp", "failback", "preempt_delay", "floating"},
                        {"nodes", "sync"}, ha);
    if (!fields) return std::nullopt;
    ha.where = r_.loc(section.keyNode);
    for (const auto& f : fields->all()) {
      if (f.key == "nodes") {
        for (const auto& n : r_.sequence(f)) loadNode(n, ha);
      } else if (f.key == "uplink") {
        ha.uplink = interfaceAddresses(f);
      } else if (f.key == "sync") {
        loadSync(f, ha);
      } else if (f.key == "vrrp") {
        loadVrrp(f, ha);
      } else if (f.key == "failback") {
        auto s = r_.string(f);
        if (s && *s == "nopreempt") {
          ha.failback = HaFailback::NoPreempt;
        } else if (s && *s == "preempt") {
          ha.failback = HaFailback::Preempt;
        } else if (s) {
          r_.diags().error(r_.loc(f), "'failback' must be nopreempt or preempt, got '" + *s + "'");
        }
      } else if (f.key == "preempt_delay") {
        if (auto v = r_.integer(f, 0, 3600)) ha.preemptDelay = static_cast<int>(*v);
      } else if (f.key == "floating") {
        ha.floatingListed = true;
        for (const auto& n : r_.sequence(f)) loadFloating(n, ha);
      }
    }
    return ha;
  }

 private:
  std::optional<Fields> entry(const YAML::Node& n, const Location& where, std::string_view what,
                              std::initializer_list<std::string_view> allowed,
                              std::initializer_list<std::string_view> required, Located& target) {
    target.where = where;
    auto fields = r_.mapping(n, where, what, allowed, required);
    if (fields) {
      for (const auto& f : fields->all()) r_.recordField(target, f);
    }
    return fields;
  }

  // "198.51.100.2/24": an address and the length of the subnet it sits on (host bits kept).
  std::optional<InterfaceAddress> interfaceAddress(const std::string& text, const Location& where) {
    auto slash = text.find('/');
    auto ip = IpAddress::parse(text.substr(0, slash));
    if (slash == std::string::npos) {
      r_.diags().error(where, "'" + text + "' needs its prefix length",
                       ip ? "write it as " + text + (ip->isV4() ? "/24" : "/64") +
                                " with the length of the subnet it sits on"
                          : "write it as address/length, e.g. 198.51.100.2/24");
      return std::nullopt;
    }
    auto lenText = text.substr(slash + 1);
    int len = -1;
    auto [end, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
    bool lenOk = ec == std::errc{} && end == lenText.data() + lenText.size() && !lenText.empty();
    if (!ip || !lenOk || len < 1 || len > ip->bits()) {
      r_.diags().error(where, "invalid interface address '" + text + "'",
                       "write it as address/length, e.g. 198.51.100.2/24");
      return std::nullopt;
    }
    return InterfaceAddress{*ip, len};
  }

  std::vector<InterfaceAddress> interfaceAddresses(const Field& f) {
    std::vector<InterfaceAddress> out;
    for (const auto& [text, where] : r_.scalarList(f, true)) {
      if (auto a = interfaceAddress(text, where)) out.push_back(*a);
    }
    return out;
  }

  void loadNode(const YAML::Node& n, Ha& ha) {
    HaNode node;
    auto fields = entry(n, r_.loc(n), "an HA node", {"name", "uplink", "sync", "control", "segments"},
                        {"name", "uplink"}, node);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "name") {
        node.name = r_.name(f).value_or("");
      } else if (f.key == "uplink") {
        node.uplink = interfaceAddresses(f);
      } else if (f.key == "sync") {
        if (auto s = r_.string(f)) node.sync = interfaceAddress(*s, r_.loc(f));
      } else if (f.key == "control") {
        node.control = r_.address(f);
      } else if (f.key == "segments") {
        loadNodeSegments(f, node);
      }
    }
    ha.nodes.push_back(std::move(node));
  }

  // segments: { app: 10.20.0.2, public: [203.0.113.2, 2001:db8:10::2] }: keys are segment
  // names, so this mapping has no fixed key list.
  void loadNodeSegments(const Field& f, HaNode& node) {
    if (!f.value.IsMap()) {
      r_.diags().error(r_.loc(f), "'segments' of an HA node must be a mapping of segment: addresses",
                       "write it as { app: 10.20.0.2, public: [203.0.113.2, 2001:db8:10::2] }");
      return;
    }
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      const YAML::Node key = it->first;  // a copy: it->first lives in a temporary
      if (!key.IsScalar()) {
        r_.diags().error(r_.loc(key), "keys of 'segments' must be segment names");
        continue;
      }
      Field item{key.Scalar(), key, it->second};
      HaSegmentAddresses sa;
      sa.segment = {key.Scalar(), r_.loc(key)};
      for (const auto& prior : node.segments) {
        if (prior.segment.name == sa.segment.name) {
          r_.diags().error(sa.segment.where, "segment '" + sa.segment.name + "' is given twice for node '" +
                                                 node.name + "'",
                           "first given at " + prior.segment.where.str());
        }
      }
      for (const auto& [text, where] : r_.scalarList(item, true)) {
        if (auto a = IpAddress::parse(text)) {
          sa.addresses.push_back(*a);
          sa.where.push_back(where);
        } else {
          r_.diags().error(where, "invalid IP address '" + text + "'",
                           text.find('/') != std::string::npos
                               ? "a node's segment addresses take the segment's prefix length: write them without one"
                               : "");
        }
      }
      node.segments.push_back(std::move(sa));
    }
  }

  void loadSync(const Field& f, Ha& ha) {
    Located ignored;
    auto fields = entry(f.value, r_.loc(f), "'sync'", {"interface", "segment"}, {}, ignored);
    if (!fields) return;
    for (const auto& x : fields->all()) r_.recordField(ha, Field{"sync." + x.key, x.keyNode, x.value});
    if (auto* x = fields->get("interface")) ha.syncInterface = r_.interfaceName(*x);
    if (auto* x = fields->get("segment")) ha.syncSegment = {r_.string(*x).value_or(""), r_.loc(*x)};
    if (fields->get("interface") == nullptr && fields->get("segment") == nullptr) {
      r_.diags().error(r_.loc(f), "'sync' names no link",
                       "give the dedicated sync 'interface' (e.g. eth2) or the 'segment' the nodes sync over");
    } else if (fields->get("interface") != nullptr && fields->get("segment") != nullptr) {
      r_.diags().error(r_.loc(fields->get("segment")->keyNode), "'sync' gives both an interface and a segment",
                       "the state sync runs over one link: keep one of them");
    }
  }

  void loadVrrp(const Field& f, Ha& ha) {
    Located ignored;
    auto fields = entry(f.value, r_.loc(f), "'vrrp'", {"id", "advert"}, {}, ignored);
    if (!fields) return;
    for (const auto& x : fields->all()) r_.recordField(ha, Field{"vrrp." + x.key, x.keyNode, x.value});
    if (auto* x = fields->get("id")) {
      if (auto v = r_.integer(*x, 1, 255)) ha.vrrpId = static_cast<int>(*v);
    }
    if (auto* x = fields->get("advert")) {
      if (auto s = r_.string(*x)) {
        auto c = centiseconds(*s);
        if (!c || *c < 1 || *c > 4095) {
          r_.diags().error(r_.loc(*x), "'advert' must be a number of seconds from 0.01 to 40.95 with at most "
                                       "two decimals, got '" + *s + "'",
                           "VRRPv3 counts the advert interval in centiseconds, e.g. 0.1 or 1");
        } else {
          ha.advertCentis = *c;
        }
      }
    }
  }

  // "0.1" -> 10, "1" -> 100, "0.25" -> 25; nullopt for anything else.
  static std::optional<int> centiseconds(const std::string& s) {
    auto dot = s.find('.');
    std::string whole = s.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
    if (whole.empty() || whole.size() > 2 || frac.size() > 2 || (dot != std::string::npos && frac.empty())) {
      return std::nullopt;
    }
    for (char c : whole + frac) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    while (frac.size() < 2) frac += '0';
    return std::stoi(whole) * 100 + std::stoi(frac);
  }

  void loadFloating(const YAML::Node& n, Ha& ha) {
    HaFloating fl;
    auto fields = entry(n, r_.loc(n), "a floating address", {"address", "segment", "uplink"}, {"address"}, fl);
    if (!fields) return;
    for (const auto& f : fields->all()) {
      if (f.key == "address") {
        auto s = r_.string(f);
        if (!s) continue;
        if (s->find('/') != std::string::npos) {
          if (auto a = interfaceAddress(*s, r_.loc(f))) {
            fl.address = a->ip;
            fl.length = a->length;
          }
        } else if (auto a = IpAddress::parse(*s)) {
          fl.address = *a;
        } else {
          r_.diags().error(r_.loc(f), "invalid IP address '" + *s + "'");
        }
      } else if (f.key == "segment") {
        fl.segment = {r_.string(f).value_or(""), r_.loc(f)};
      } else if (f.key == "uplink") {
        auto b = r_.boolean(f);
        if (b && !*b) {
          r_.diags().error(r_.loc(f), "'uplink: false' says nothing",
                           "write 'uplink: true', or name the 'segment' the address floats on");
        }
        fl.uplink = b.value_or(false);
      }
    }
    bool onSegment = fields->get("segment") != nullptr;
    bool onUplink = fields->get("uplink") != nullptr;
    if (onSegment == onUplink) {
      r_.diags().error(fl.where, "a floating address needs exactly one of 'segment' and 'uplink'",
                       "name the segment it floats on, or write 'uplink: true'");
    }
    ha.floating.push_back(std::move(fl));
  }

  YamlReader& r_;
};

}  // namespace

std::optional<Ha> loadHa(YamlReader& reader, const Field& section) { return HaLoader(reader).load(section); }

}  // namespace bulwark::policies::detail
