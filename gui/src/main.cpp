// bulwark-console: the Qt desktop console for bulwarkd (see gui/README.md).
#include <QApplication>
#include <QMessageBox>

#include <cstdio>

#include "app/main_window.h"
#include "app/options.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("bulwark-console"));
  auto opts = bulwark::console::parseOptions(QApplication::arguments());
  if (!opts.error.isEmpty()) {
    std::fprintf(stderr, "%s\n", qPrintable(opts.error));
    return 2;
  }
  bulwark::console::MainWindow w;
  if (!opts.policyPath.isEmpty()) {
    QString err;
    if (!w.openPolicy(opts.policyPath, &err)) std::fprintf(stderr, "bulwark-console: %s\n", qPrintable(err));
  }
  if (opts.endpoint) w.connectTo(*opts.endpoint);
  w.show();
  return QApplication::exec();
}
