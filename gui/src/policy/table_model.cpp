#include "policy/table_model.h"

#include <QColor>

#include <QStringList>

#include <utility>

#include "policy/policy_document.h"
#include "policy/yaml_span.h"

namespace bulwark::console {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

template <typename T, typename F>
QString joined(const std::vector<T>& v, F f) {
  QStringList out;
  for (const auto& x : v) out << f(x);
  return out.join(QStringLiteral(", "));
}

QString family(const std::optional<policies::AddressFamilyConfig>& f) {
  if (!f) return {};
  QString s = q(f->subnet.str());
  if (f->gateway) s += QStringLiteral(" (gw %1)").arg(q(f->gateway->str()));
  return s;
}

}  // namespace

PolicyTableModel::PolicyTableModel(Kind kind, PolicyDocument* doc, QObject* parent)
    : QAbstractTableModel(parent), kind_(kind), doc_(doc) {
  switch (kind) {
    case Kind::Segments:
      columns_ = {{"name", "name", false},   {"vlan", "vlan", false},  {"interface", "interface", false},
                  {"IPv4", "", false},       {"IPv6", "", false},      {"mtu", "mtu", false},
                  {"description", "description", false}};
      break;
    case Kind::Hosts:
      columns_ = {{"name", "name", false}, {"segment", "segment", false}, {"addresses", "addresses", true},
                  {"description", "description", false}};
      break;
    case Kind::Services:
      columns_ = {{"name", "name", false}, {"ports", "ports", true}, {"description", "description", false}};
      break;
    case Kind::Rules:
      columns_ = {{"name", "name", false},      {"from", "from", true},     {"to", "to", true},
                  {"services", "services", true}, {"action", "action", false}, {"description", "description", false}};
      break;
  }
}

void PolicyTableModel::setAnalysis(AnalysisPtr analysis) {
  beginResetModel();
  analysis_ = std::move(analysis);
  endResetModel();
}

int PolicyTableModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() || !analysis_) return 0;
  const auto& p = analysis_->policy;
  switch (kind_) {
    case Kind::Segments: return static_cast<int>(p.segments.size());
    case Kind::Hosts: return static_cast<int>(p.hosts.size());
    case Kind::Services: return static_cast<int>(p.services.size());
    case Kind::Rules: return static_cast<int>(p.rules.size());
  }
  return 0;
}

int PolicyTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(columns_.size());
}

const policies::Located* PolicyTableModel::element(int row) const {
  if (!analysis_ || row < 0 || row >= rowCount()) return nullptr;
  const auto& p = analysis_->policy;
  auto r = static_cast<std::size_t>(row);
  switch (kind_) {
    case Kind::Segments: return &p.segments[r];
    case Kind::Hosts: return &p.hosts[r];
    case Kind::Services: return &p.services[r];
    case Kind::Rules: return &p.rules[r];
  }
  return nullptr;
}

QString PolicyTableModel::text(int row, int col) const {
  const auto& p = analysis_->policy;
  auto r = static_cast<std::size_t>(row);
  switch (kind_) {
    case Kind::Segments: {
      const auto& s = p.segments[r];
      switch (col) {
        case 0: return q(s.name);
        case 1: return s.vlan ? QString::number(*s.vlan) : QString();
        case 2: return q(policies::segmentInterface(p, s));
        case 3: return family(s.ipv4);
        case 4: return family(s.ipv6);
        case 5: return QString::number(s.mtu);
        case 6: return q(s.description);
      }
      break;
    }
    case Kind::Hosts: {
      const auto& h = p.hosts[r];
      switch (col) {
        case 0: return q(h.name);
        case 1: return q(h.segment.name);
        case 2: return joined(h.addresses, [](const auto& a) { return q(a.str()); });
        case 3: return q(h.description);
      }
      break;
    }
    case Kind::Services: {
      const auto& s = p.services[r];
      switch (col) {
        case 0: return q(s.name);
        case 1: return joined(s.ports, [](const auto& x) { return q(x.str()); });
        case 2: return q(s.description);
      }
      break;
    }
    case Kind::Rules: {
      const auto& x = p.rules[r];
      auto text = [](const auto& e) { return q(e.text); };
      switch (col) {
        case 0: return q(x.name);
        case 1: return joined(x.from, text);
        case 2: return joined(x.to, text);
        case 3: return joined(x.services, text);
        case 4: return q(std::string(policies::actionName(x.action)));
        case 5: return q(x.description);
      }
      break;
    }
  }
  return {};
}

// The first error the analysis places in this cell's value: in the field's file, from where
// the value starts up to where the element's next field starts (the next line when none
// follows; a block list spans lines, a flow-style element has several fields on one line).
const policies::Diagnostic* PolicyTableModel::cellError(int row, int col) const {
  const auto* e = element(row);
  const auto& c = columns_[static_cast<std::size_t>(col)];
  if (!e || !analysis_ || c.field.isEmpty() || analysis_->diagnostics.errorCount() == 0) return nullptr;
  auto it = e->fields.find(c.field.toStdString());
  if (it == e->fields.end()) return nullptr;
  const auto& at = it->second;
  auto pos = [](const policies::Location& l) { return std::pair{l.line, l.col}; };
  std::pair end{at.line + 1, 0};
  for (const auto& [key, loc] : e->fields) {
    if (loc.file == at.file && pos(loc) > pos(at) && pos(loc) < end) end = pos(loc);
  }
  for (const auto& d : analysis_->diagnostics.items()) {
    if (d.severity == policies::Severity::Error && d.where.file == at.file && pos(d.where) >= pos(at) &&
        pos(d.where) < end) {
      return &d;
    }
  }
  return nullptr;
}

QVariant PolicyTableModel::data(const QModelIndex& index, int role) const {
  const auto* e = element(index.row());
  if (!e || index.column() < 0 || index.column() >= columnCount()) return {};
  const auto& c = columns_[static_cast<std::size_t>(index.column())];
  if (role == Qt::DisplayRole || role == Qt::EditRole) return text(index.row(), index.column());
  if (role == Qt::BackgroundRole || role == Qt::ForegroundRole) {
    if (!cellError(index.row(), index.column())) return {};
    return role == Qt::BackgroundRole ? QColor(0xfd, 0xe4, 0xe4) : QColor(0xb0, 0x1c, 0x1c);
  }
  if (role == LocationRole || role == Qt::ToolTipRole) {
    const auto& where = c.field.isEmpty() ? e->where : e->at(c.field.toStdString());
    auto loc = q(where.str());
    if (role == LocationRole) return loc;
    // The whole value first: a column narrower than its text elides it.
    const QString value = text(index.row(), index.column());
    const QString at = c.field.isEmpty() ? loc + QStringLiteral(" (edit in the YAML text)") : loc;
    QString tip = value.isEmpty() ? at : value + QLatin1Char('\n') + at;
    if (const auto* d = cellError(index.row(), index.column())) {
      tip = QStringLiteral("error: %1\n%2").arg(q(d->message), tip);
    }
    return tip;
  }
  return {};
}

QVariant PolicyTableModel::headerData(int section, Qt::Orientation o, int role) const {
  if (role != Qt::DisplayRole) return {};
  if (o == Qt::Horizontal && section >= 0 && section < columnCount()) return columns_[static_cast<std::size_t>(section)].title;
  if (o == Qt::Vertical) return section + 1;
  return {};
}

Qt::ItemFlags PolicyTableModel::flags(const QModelIndex& index) const {
  auto f = QAbstractTableModel::flags(index);
  const auto* e = element(index.row());
  if (!e || !doc_) return f;
  const auto& c = columns_[static_cast<std::size_t>(index.column())];
  // Only fields that are written: a missing field has no place to edit (add it in the text).
  if (!c.field.isEmpty() && e->fields.count(c.field.toStdString()) != 0) f |= Qt::ItemIsEditable;
  return f;
}

bool PolicyTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole || !doc_) return false;
  const auto* e = element(index.row());
  if (!e) return false;
  const auto& c = columns_[static_cast<std::size_t>(index.column())];
  auto it = e->fields.find(c.field.toStdString());
  if (c.field.isEmpty() || it == e->fields.end()) return false;
  const auto& where = it->second;
  QString v = value.toString().trimmed();
  QString yaml;
  if (c.list) {
    QStringList items;
    for (const auto& part : v.split(QLatin1Char(','), Qt::SkipEmptyParts)) items << part.trimmed();
    yaml = yamlFlowList(items);
  } else {
    yaml = yamlScalar(v);
  }
  QString error;
  if (!doc_->replaceValue(q(where.file), where.line, where.col, yaml, &error)) {
    emit editFailed(error);
    return false;
  }
  return true;  // the new analysis resets the model
}

}  // namespace bulwark::console
