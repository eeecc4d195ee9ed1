#pragma once
// The usual std::visit helper: one lambda per alternative of the IR's variants.

namespace bulwark::firewall::detail {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace bulwark::firewall::detail
