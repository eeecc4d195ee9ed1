#pragma once
// The usual std::visit helper: one lambda per alternative of a variant (the firewall's IR, its
// netlink expressions, the review's partition operations).

namespace bulwark {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace bulwark
