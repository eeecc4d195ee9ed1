#pragma once
// Printing diagnostics for people (stderr, file:line:col) and for tools (JSON).
#include <nlohmann/json.hpp>

#include "bulwark/policies/diagnostics.h"

namespace bulwark::cli {

void printDiagnostics(const policies::Diagnostics& diags);
nlohmann::json diagnosticsJson(const policies::Diagnostics& diags);
// Does this result fail the command (errors, or warnings under --werror)?
bool failed(const policies::Diagnostics& diags, bool werror);
// A revocation report (engine::revocationJson, as the daemon sends it too): what a plan would
// cut or what an apply cut.
void printRevocation(const nlohmann::json& r);
// A plan's "review" object (review/plan_review.h; from bulwarkd or computed here): the change
// in policy terms and its effect, or why the applied policy is unknown; then the heading of
// the kernel plan that follows.
void printPlanReview(const nlohmann::json& review);

}  // namespace bulwark::cli
