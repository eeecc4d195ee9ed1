#include "bulwark/policies/document.h"

#include "yaml_reader.h"

namespace bulwark::policies {

namespace {

bool convert(const YAML::Node& n, const std::string& file, int depth, DocNode& out, Diagnostics& diags) {
  auto m = n.Mark();
  out.where = m.is_null() ? Location{file, 0, 0} : Location{file, m.line + 1, m.column + 1};
  if (depth > kMaxDocumentDepth) {
    diags.error(out.where, "nested deeper than " + std::to_string(kMaxDocumentDepth) + " levels");
    return false;
  }
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: out.kind = DocNode::Kind::Null; return true;
    case YAML::NodeType::Scalar:
      out.kind = DocNode::Kind::Scalar;
      out.scalar = n.Scalar();
      return true;
    case YAML::NodeType::Sequence:
      out.kind = DocNode::Kind::Sequence;
      for (const auto& item : n) {
        out.items.emplace_back();
        if (!convert(item, file, depth + 1, out.items.back(), diags)) return false;
      }
      return true;
    case YAML::NodeType::Map:
      out.kind = DocNode::Kind::Map;
      for (auto it = n.begin(); it != n.end(); ++it) {
        const YAML::Node key = it->first;
        auto km = key.Mark();
        out.keyLocations.push_back(km.is_null() ? Location{file, 0, 0} : Location{file, km.line + 1, km.column + 1});
        out.entries.push_back(DocEntry{key.IsScalar() ? key.Scalar() : std::string("?"), DocNode{}});
        if (!convert(it->second, file, depth + 1, out.entries.back().second, diags)) return false;
      }
      return true;
  }
  return true;
}

}  // namespace

const DocNode* DocNode::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

ReadDocument readDocument(const Source& source) {
  ReadDocument out;
  detail::FirstDocument doc;
  try {
    doc = detail::loadFirstDocument(source.text);
  } catch (const YAML::Exception& e) {
    out.diagnostics.error({source.name, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1},
                          "YAML syntax: " + e.msg);
    return out;
  }
  DocNode root;
  if (convert(doc.root, source.name, 0, root, out.diagnostics)) out.root = std::move(root);
  return out;
}

}  // namespace bulwark::policies
