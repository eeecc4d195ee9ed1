#include "bulwark/review/flow_diff.h"

#include "bulwark/review/placement.h"

namespace bulwark::review {

namespace {

void compareCell(const std::vector<Piece>& before, const std::vector<Piece>& after, Family family, IpsecPath path,
                 std::vector<FlowChange>& out) {
  for (const auto& b : before) {
    for (const auto& a : after) {
      if (b.outcome.sameFate(a.outcome) || !b.cube.intersects(a.cube)) continue;
      auto cube = b.cube.intersect(a.cube);
      if (cube.empty()) continue;
      out.push_back({family, path, std::move(cube), b.outcome, a.outcome});
    }
  }
}

}  // namespace

std::vector<FlowChange> flowChanges(const FlowSide& before, const FlowSide& after, const FlowDiffOptions& options) {
  std::vector<FlowChange> out;
  for (auto family : {Family::V4, Family::V6}) {
    const auto& only = family == Family::V4 ? options.sources4 : options.sources6;
    // Without a VPN pool of this family on either side, the libipsec path places and routes
    // every address as the kernel path does (ipsecPathsOf): its changes are the kernel path's,
    // copied rather than partitioned again.
    const bool libipsecDiffers = ipsecPathsOf(*before.placement, family).size() > 1 ||
                                 ipsecPathsOf(*after.placement, family).size() > 1;
    const auto firstOfFamily = out.size();
    for (auto path : {IpsecPath::Kernel, IpsecPath::Libipsec}) {
      if (path == IpsecPath::Libipsec && !libipsecDiffers) {
        const auto kernelEnd = out.size();
        for (auto i = firstOfFamily; i < kernelEnd; ++i) {
          FlowChange c = out[i];
          c.path = IpsecPath::Libipsec;
          out.push_back(std::move(c));
        }
        continue;
      }
      auto bs = flowSetup(*before.placement, family, path, options.libipsecInterface);
      auto as = flowSetup(*after.placement, family, path, options.libipsecInterface);
      Partitioner bp(*before.ruleset, bs);
      Partitioner ap(*after.ruleset, as);
      std::vector<Piece> bPieces, aPieces;
      for (const auto& bsrc : bs.sources) {
        for (const auto& asrc : as.sources) {
          auto src = bsrc.addrs.intersect(asrc.addrs);
          if (only) src = src.intersect(*only);
          if (src.empty()) continue;
          for (const auto& bdst : bs.dests) {
            for (const auto& adst : as.dests) {
              auto dst = bdst.addrs.intersect(adst.addrs);
              if (dst.empty()) continue;
              FlowCube cell{src, dst, allServices()};
              bPieces.clear();
              aPieces.clear();
              bp.run(cell, bsrc, bdst, bPieces);
              ap.run(cell, asrc, adst, aPieces);
              compareCell(bPieces, aPieces, family, path, out);
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace bulwark::review
