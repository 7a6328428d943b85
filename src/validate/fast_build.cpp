// Builder: records the fast verdict program while the schema compiler walks a schema.
// Subschemas are named by their JSON node's address until finish(), when every schema
// object recorded gets its node index and "$ref" aliases resolve to their targets.
#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "fast.hpp"

namespace sipcontract::detail::fast {

Program::Program() = default;
Program::~Program() = default;

namespace {

/// Fills rule.by_length and rule.length_starts from rule.properties (a counting sort by length,
/// names of one length in their order).
void index_by_length(ObjectRule& rule) {
  const auto bucket = [](const std::string& name) { return std::min(name.size(), ObjectRule::kLongName); };
  rule.length_starts.fill(0);
  for (const auto& entry : rule.properties) ++rule.length_starts[bucket(entry.first) + 1];
  for (std::size_t n = 1; n < rule.length_starts.size(); ++n)
    rule.length_starts[n] += rule.length_starts[n - 1];
  rule.by_length.assign(rule.properties.size(), 0);
  std::array<std::uint32_t, ObjectRule::kLongName + 1> next{};
  std::copy_n(rule.length_starts.begin(), next.size(), next.begin());
  for (std::uint32_t k = 0; k < rule.properties.size(); ++k)
    rule.by_length[next[bucket(rule.properties[k].first)]++] = k;
}

// A step whose schema operands are still JSON addresses (a, b, c replace Step::a, b, c when set).
struct PendingStep {
  Step step;
  const Json* a = nullptr;
  const Json* b = nullptr;
  const Json* c = nullptr;
  const validation::Check* check = nullptr;
};

struct PendingObject {
  std::vector<std::pair<std::string, const Json*>> properties;
  std::vector<std::pair<std::uint32_t, const Json*>> patterns;
  const Json* additional = nullptr;
  bool forbidden = false;
  bool open = false;
};

struct PendingTuple {
  std::vector<const Json*> items;
  const Json* additional = nullptr;
  bool forbidden = false;
};

struct PendingDependencies {
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  std::vector<std::pair<std::string, const Json*>> schemas;
};

std::uint32_t index_of(std::size_t size) { return static_cast<std::uint32_t>(size - 1); }

}  // namespace

struct Builder::Impl {
  std::unique_ptr<Program> program = std::make_unique<Program>();
  std::vector<const Json*> order;  // schema objects in the order first seen (deterministic indices)
  std::unordered_map<const Json*, std::vector<PendingStep>> steps;
  std::unordered_map<const Json*, const Json*> aliases;
  std::vector<PendingObject> objects;
  std::vector<PendingTuple> tuples;
  std::vector<PendingDependencies> dependencies;
  std::vector<std::vector<const Json*>> lists;
  std::unordered_map<const Json*, std::uint32_t> index;  // filled by finish()

  std::vector<PendingStep>& at(const Json* node) {
    auto [it, inserted] = steps.try_emplace(node);
    if (inserted) order.push_back(node);
    return it->second;
  }
  void add(const Json* node, Step step, const Json* a = nullptr, const Json* b = nullptr,
           const Json* c = nullptr) {
    at(node).push_back({step, a, b, c});
  }
  void add_checked(const Json* node, Step step, const validation::Check* check) {
    at(node).push_back({step, nullptr, nullptr, nullptr, check});
  }
};

Builder::Builder() : impl_(std::make_unique<Impl>()) {}
Builder::~Builder() = default;

void Builder::alias(const Json* node, const Json* target) { impl_->aliases[node] = target; }
void Builder::object(const Json* node) { impl_->at(node); }

void Builder::type(const Json* node, unsigned mask, const validation::Check* check) {
  // The cheapest and most decisive check runs first.
  auto& steps = impl_->at(node);
  steps.insert(steps.begin(),
               PendingStep{Step{Op::kType, 0, kNone, kNone, mask}, nullptr, nullptr, nullptr, check});
}

void Builder::enumeration(const Json* node, const Json& values, const validation::Check* check) {
  EnumSet set;
  set.values.assign(values.begin(), values.end());
  set.only_strings = true;
  for (const auto& value : set.values) {
    if (value.is_string()) {
      set.strings.push_back(value.get<std::string>());
    } else {
      set.only_strings = false;
    }
  }
  std::sort(set.strings.begin(), set.strings.end());
  for (const auto& text : set.strings) set.keys.emplace_back(text);
  auto& enums = impl_->program->enums;
  enums.push_back(std::move(set));
  impl_->add_checked(node, Step{Op::kEnum, index_of(enums.size())}, check);
}

void Builder::constant(const Json* node, const Json& value, const validation::Check* check) {
  auto& consts = impl_->program->consts;
  consts.push_back(value);
  impl_->add_checked(node, Step{Op::kConst, index_of(consts.size())}, check);
}

void Builder::format(const Json* node, validation::Format format, const validation::Check* check) {
  impl_->add_checked(node, Step{Op::kFormat, 0, kNone, kNone, static_cast<std::uint64_t>(format)}, check);
}

void Builder::pattern(const Json* node, const std::string& pattern, const validation::Check* check) {
  auto& regexes = impl_->program->regexes;
  regexes.push_back(validation::compile_regex(pattern));
  impl_->add_checked(node, Step{Op::kPattern, index_of(regexes.size())}, check);
}

void Builder::count(const Json* node, std::string_view keyword, std::uint64_t limit,
                    const validation::Check* check) {
  Op op = Op::kMaxProperties;
  if (keyword == "minLength") op = Op::kMinLength;
  if (keyword == "maxLength") op = Op::kMaxLength;
  if (keyword == "minItems") op = Op::kMinItems;
  if (keyword == "maxItems") op = Op::kMaxItems;
  if (keyword == "minProperties") op = Op::kMinProperties;
  impl_->add_checked(node, Step{op, 0, kNone, kNone, limit}, check);
}

void Builder::number(const Json* node, std::string_view keyword, const Json& limit,
                     const validation::Check* check) {
  Op op = Op::kMultipleOf;
  if (keyword == "minimum") op = Op::kMinimum;
  if (keyword == "exclusiveMinimum") op = Op::kExclusiveMinimum;
  if (keyword == "maximum") op = Op::kMaximum;
  if (keyword == "exclusiveMaximum") op = Op::kExclusiveMaximum;
  auto& numbers = impl_->program->numbers;
  numbers.push_back(validation::to_number(limit));
  impl_->add_checked(node, Step{op, index_of(numbers.size())}, check);
}

void Builder::unique_items(const Json* node, const validation::Check* check) {
  impl_->add_checked(node, Step{Op::kUniqueItems}, check);
}

void Builder::required(const Json* node, std::vector<std::string> names) {
  auto& lists = impl_->program->name_lists;
  lists.push_back(std::move(names));
  impl_->add(node, Step{Op::kRequired, index_of(lists.size())});
}

void Builder::dependencies(const Json* node,
                           std::vector<std::pair<std::string, std::vector<std::string>>> lists,
                           std::vector<std::pair<std::string, const Json*>> schemas) {
  impl_->dependencies.push_back({std::move(lists), std::move(schemas)});
  impl_->add(node, Step{Op::kDependencies, index_of(impl_->dependencies.size())});
}

void Builder::property_names(const Json* node, const Json* schema) {
  impl_->add(node, Step{Op::kPropertyNames}, schema);
}

void Builder::properties(const Json* node, std::vector<std::pair<std::string, const Json*>> properties,
                         std::vector<std::pair<std::string, const Json*>> patterns, const Json* additional,
                         bool forbidden, bool open) {
  if (properties.empty() && patterns.empty() && additional == nullptr && !forbidden) return;
  PendingObject object;
  object.properties = std::move(properties);
  auto& regexes = impl_->program->regexes;
  for (auto& [pattern, schema] : patterns) {
    regexes.push_back(validation::compile_regex(pattern));
    object.patterns.emplace_back(index_of(regexes.size()), schema);
  }
  object.additional = additional;
  object.forbidden = forbidden;
  object.open = open;
  impl_->objects.push_back(std::move(object));
  impl_->add(node, Step{Op::kObject, index_of(impl_->objects.size())});
}

void Builder::items(const Json* node, const Json* schema) { impl_->add(node, Step{Op::kItems}, schema); }

void Builder::tuple(const Json* node, std::vector<const Json*> items, const Json* additional,
                    bool forbidden) {
  impl_->tuples.push_back({std::move(items), additional, forbidden});
  impl_->add(node, Step{Op::kTuple, index_of(impl_->tuples.size())});
}

void Builder::contains(const Json* node, const Json* schema) {
  impl_->add(node, Step{Op::kContains}, schema);
}

void Builder::combine(const Json* node, std::string_view keyword, std::vector<const Json*> schemas,
                      const validation::Check* check) {
  const Op op = keyword == "allOf" ? Op::kAllOf : (keyword == "anyOf" ? Op::kAnyOf : Op::kOneOf);
  impl_->lists.push_back(std::move(schemas));
  impl_->add_checked(node, Step{op, index_of(impl_->lists.size())}, check);
}

void Builder::negate(const Json* node, const Json* schema) { impl_->add(node, Step{Op::kNot}, schema); }

void Builder::forbidden(const Json* node, std::vector<std::vector<std::string>> groups) {
  auto& all = impl_->program->groups;
  all.push_back(std::move(groups));
  impl_->add(node, Step{Op::kForbidden, index_of(all.size())});
}

void Builder::conditional(const Json* node, const Json* if_schema, const Json* then_schema,
                          const Json* else_schema) {
  impl_->add(node, Step{Op::kIf}, if_schema, then_schema, else_schema);
}

void Builder::equal_properties(const Json* node, std::vector<std::pair<std::string, std::string>> pairs) {
  auto& all = impl_->program->pairs;
  all.push_back(std::move(pairs));
  impl_->add(node, Step{Op::kEqualProperties, index_of(all.size())});
}

void Builder::always_false(const Json* node, const validation::Check* check) {
  impl_->add_checked(node, Step{Op::kFalse}, check);
}

std::uint32_t Builder::node_of(const Json* node) const {
  for (std::size_t hops = 0; node != nullptr && hops <= impl_->aliases.size(); ++hops) {
    auto alias = impl_->aliases.find(node);
    if (alias == impl_->aliases.end()) break;
    node = alias->second;
  }
  auto it = impl_->index.find(node);
  return it == impl_->index.end() ? kNone : it->second;
}

std::unique_ptr<Program> Builder::finish(const Json* root) {
  Impl& in = *impl_;
  Program& out = *in.program;
  auto& index = in.index;
  for (const Json* node : in.order) index.emplace(node, static_cast<std::uint32_t>(index.size()));
  bool complete = true;
  // The node of a schema address, through "$ref" aliases (chains end: the compiler refuses ref cycles).
  const auto resolve = [&](const Json* node) -> std::uint32_t {
    if (node == nullptr) return kNone;
    for (std::size_t hops = 0; hops <= in.aliases.size(); ++hops) {
      auto alias = in.aliases.find(node);
      if (alias == in.aliases.end()) break;
      node = alias->second;
    }
    auto it = index.find(node);
    if (it == index.end()) {
      complete = false;
      return kNone;
    }
    return it->second;
  };

  for (const auto& object : in.objects) {
    ObjectRule rule;
    for (const auto& [name, schema] : object.properties) rule.properties.emplace_back(name, resolve(schema));
    std::sort(rule.properties.begin(), rule.properties.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    index_by_length(rule);
    for (const auto& [regex, schema] : object.patterns) rule.patterns.emplace_back(regex, resolve(schema));
    rule.additional = resolve(object.additional);
    rule.forbidden = object.forbidden;
    rule.open = object.open;
    out.objects.push_back(std::move(rule));
  }
  for (const auto& tuple : in.tuples) {
    TupleRule rule;
    for (const Json* item : tuple.items) rule.items.push_back(resolve(item));
    rule.additional = resolve(tuple.additional);
    rule.forbidden = tuple.forbidden;
    out.tuples.push_back(std::move(rule));
  }
  for (auto& dependencies : in.dependencies) {
    DependencyRule rule;
    rule.lists = std::move(dependencies.lists);
    for (const auto& [name, schema] : dependencies.schemas) rule.schemas.emplace_back(name, resolve(schema));
    out.dependencies.push_back(std::move(rule));
  }
  for (const auto& list : in.lists) {
    std::vector<std::uint32_t> nodes;
    for (const Json* schema : list) nodes.push_back(resolve(schema));
    out.node_lists.push_back(std::move(nodes));
  }
  for (const Json* node : in.order) {
    Node compiled;
    compiled.begin = static_cast<std::uint32_t>(out.steps.size());
    for (const auto& pending : in.steps.at(node)) {
      Step step = pending.step;
      if (pending.a != nullptr) step.a = resolve(pending.a);
      if (step.op == Op::kIf) {
        step.b = resolve(pending.b);
        step.c = resolve(pending.c);
      }
      out.steps.push_back(step);
      out.checks.push_back(pending.check);
    }
    compiled.end = static_cast<std::uint32_t>(out.steps.size());
    out.nodes.push_back(compiled);
  }
  out.root = resolve(root);
  if (!complete || out.root == kNone) return nullptr;
  return std::move(in.program);
}

}  // namespace sipcontract::detail::fast
