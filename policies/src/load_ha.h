#pragma once
// The loader of the `ha:` section (an active/standby gateway pair): syntax, keys and value
// types; cross-references are the validator's (validate_ha.h).
#include <optional>

#include "bulwark/policies/model.h"
#include "yaml_reader.h"

namespace bulwark::policies::detail {

[[nodiscard]] std::optional<Ha> loadHa(YamlReader& reader, const Field& section);

}  // namespace bulwark::policies::detail
