#pragma once
// One spelling per enumerator for both directions, naming a value and parsing a name, so the
// two can no longer drift apart. The module that owns an enum keeps one constexpr table of
// rows with (at least) a `value` and a `name` member; a row may carry more facts about the
// value (a protocol's number), so that all of them stand in one place.

#include <iterator>
#include <optional>
#include <string_view>
#include <type_traits>

namespace bulwark {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

// The row of `value`; nullptr when the table has none.
template <class Table, class E>
constexpr auto rowOf(const Table& table, E value) -> decltype(&*std::begin(table)) {
  for (const auto& row : table) {
    if (row.value == value) return &row;
  }
  return nullptr;
}

// The name of `value`; `unknown` when the table has no row for it.
template <class Table, class E>
constexpr std::string_view nameOf(const Table& table, E value, std::string_view unknown = "?") {
  const auto* row = rowOf(table, value);
  return row ? row->name : unknown;
}

// The value named `name`; nullopt when no row spells it so.
template <class Table>
constexpr auto parseName(const Table& table, std::string_view name)
    -> std::optional<std::decay_t<decltype(std::begin(table)->value)>> {
  for (const auto& row : table) {
    if (row.name == name) return row.value;
  }
  return std::nullopt;
}

}  // namespace bulwark
