#include "views/tables_view.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "policy/policy_document.h"
#include "policy/table_model.h"

namespace bulwark::console {

TablesView::TablesView(PolicyDocument* doc, QWidget* parent) : QWidget(parent) {
  auto* filter = new QLineEdit;
  filter->setPlaceholderText(tr("Filter (any column)…"));
  tabs_ = new QTabWidget;
  const std::array<std::pair<PolicyTableModel::Kind, QString>, 4> kinds{{{PolicyTableModel::Kind::Segments, tr("Segments")},
                                                                       {PolicyTableModel::Kind::Hosts, tr("Hosts")},
                                                                       {PolicyTableModel::Kind::Services, tr("Services")},
                                                                       {PolicyTableModel::Kind::Rules, tr("Rules")}}};
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    auto* m = new PolicyTableModel(kinds[i].first, doc, this);
    models_[i] = m;
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(m);
    proxy->setFilterKeyColumn(-1);
    proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    connect(filter, &QLineEdit::textChanged, proxy, &QSortFilterProxyModel::setFilterFixedString);
    auto* view = new QTableView;
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(-1, Qt::AscendingOrder);
    view->horizontalHeader()->setStretchLastSection(true);
    // Columns as wide as their values (an address list, a rule's services), up to a bound; a
    // longer value is elided in the middle and whole in its tooltip.
    view->horizontalHeader()->setMaximumSectionSize(520);
    view->setTextElideMode(Qt::ElideMiddle);
    connect(m, &QAbstractItemModel::modelReset, view, &QTableView::resizeColumnsToContents);
    view->verticalHeader()->setDefaultSectionSize(22);
    view->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    tabs_->addTab(view, kinds[i].second);
    connect(doc, &PolicyDocument::analysed, m, &PolicyTableModel::setAnalysis);
    connect(m, &PolicyTableModel::editFailed, this, &TablesView::message);
    connect(view, &QTableView::activated, this, [this, proxy](const QModelIndex& idx) {
      if (idx.flags() & Qt::ItemIsEditable) return;  // the editor opens instead
      // "file:line:col" → jump to the YAML text
      auto loc = proxy->data(idx, PolicyTableModel::LocationRole).toString();
      auto parts = loc.split(QLatin1Char(':'));
      if (parts.size() >= 3) {
        emit locationActivated(parts.mid(0, parts.size() - 2).join(QLatin1Char(':')), parts[parts.size() - 2].toInt(),
                               parts.last().toInt());
      }
    });
  }
  auto* lay = new QVBoxLayout(this);
  lay->addWidget(filter);
  lay->addWidget(tabs_, 1);
}

}  // namespace bulwark::console
