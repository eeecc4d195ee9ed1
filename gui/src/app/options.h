#pragma once
// bulwark-console's command line.
#include <QString>
#include <QStringList>

#include <optional>

#include "control/transport.h"

namespace bulwark::console {

struct Options {
  std::optional<Endpoint> endpoint;  // none: start disconnected
  QString policyPath;                // a file or directory of the working copy
  QString error;                     // set when the command line is wrong
};

// --socket PATH | --connect tls://HOST:PORT --p12 FILE [--p12-password-file FILE] --ca FILE
// [--server-name NAME];
// --policy PATH.
[[nodiscard]] Options parseOptions(const QStringList& args);

}  // namespace bulwark::console
