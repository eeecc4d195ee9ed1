#pragma once
// Dates as an administrator reads them in the views: local time, to the second, the same
// shape everywhere ("2026-12-06 19:09:23"); the daemon sends UTC (ISO 8601 or Unix time).
#include <QDateTime>
#include <QJsonValue>
#include <QString>

namespace bulwark::console {

[[nodiscard]] inline QString localDateTime(const QDateTime& t) {
  return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) : QString();
}

// An ISO 8601 string ("2026-12-06T18:00:00.123Z") or a Unix time in seconds; invalid if neither.
[[nodiscard]] inline QDateTime daemonTime(const QJsonValue& v) {
  if (v.isDouble()) return QDateTime::fromSecsSinceEpoch(static_cast<qint64>(v.toDouble()), Qt::UTC);
  return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

}  // namespace bulwark::console
