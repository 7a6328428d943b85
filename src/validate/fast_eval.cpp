// The fast verdict path at run time: simdjson's DOM parser (one per thread, reused),
// the parse rules parse_json enforces that simdjson does not (repeated keys, depth),
// and the verdict program evaluated on the parsed document. The same evaluator runs
// on nlohmann documents (Schema::is_valid), through a thin value wrapper per DOM.
#include <re2/re2.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <tuple>

#include "compiled.hpp"
#include "fast.hpp"
#include "fast_text.hpp"

namespace sipcontract::detail::fast {
namespace {

using validation::compare_numbers;
using validation::is_integral;

enum class Kind : std::uint8_t { kNull, kBoolean, kObject, kArray, kString, kNumber };

/// The sizeof(T) bytes at `p` as an integer (one load where the target allows an unaligned one).
template <class T>
inline T load(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

/// a == b for the short strings schemas name (keys, enum values): lengths first, then whole
/// words, inline. The last word overlaps the one before rather than ending byte by byte, and no
/// byte outside either string is read. A call to memcmp per comparison was a fifth of the verdict
/// time; the byte-by-byte tail, a tenth of what was left. Always inlined: g++ stopped inlining it
/// into step() once find() was, and each comparison became a call.
[[gnu::always_inline]] inline bool same(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (load<std::uint64_t>(x + i) != load<std::uint64_t>(y + i)) return false;
    }
    return load<std::uint64_t>(x + n - 8) == load<std::uint64_t>(y + n - 8);
  }
  if (n >= 4) {
    return load<std::uint32_t>(x) == load<std::uint32_t>(y) &&
           load<std::uint32_t>(x + n - 4) == load<std::uint32_t>(y + n - 4);
  }
  if (n >= 2) {
    return load<std::uint16_t>(x) == load<std::uint16_t>(y) &&
           load<std::uint16_t>(x + n - 2) == load<std::uint16_t>(y + n - 2);
  }
  return n == 0 || *x == *y;
}

/// The first of the bucket [first, last) whose name is not below `key`: the binary search of a
/// large bucket, out of line so that find_property() stays small enough to inline.
[[gnu::noinline]] const std::uint32_t* lower_name(const ObjectRule& rule, const std::uint32_t* first,
                                                  const std::uint32_t* last, std::string_view key) {
  // A bucket keeps the names' order.
  return std::lower_bound(first, last, key, [&](std::uint32_t k, std::string_view name) {
    return std::string_view(rule.properties[k].first) < name;
  });
}

/// The property `rule` declares under the name `key`, or null: compared with the declared names of
/// its length only, one by one (a scan comparing lengths first beats a binary search, whose every
/// step is a memcmp call), or by a binary search when there are many.
[[gnu::always_inline]] inline const std::pair<std::string, std::uint32_t>* find_property(
    const ObjectRule& rule, std::string_view key) {
  const std::size_t n = std::min(key.size(), ObjectRule::kLongName);
  const std::uint32_t* first = rule.by_length.data() + rule.length_starts[n];
  const std::uint32_t* last = rule.by_length.data() + rule.length_starts[n + 1];
  if (last - first > 16) {
    first = lower_name(rule, first, last, key);
    if (first != last) last = first + 1;
  }
  for (; first != last; ++first) {
    const auto& entry = rule.properties[*first];
    if (same(entry.first, key)) return &entry;
  }
  return nullptr;
}

// simdjson's accessors, for an element whose type was checked first. get() rather than
// value_unsafe(): the same code, without g++'s false "may be used uninitialized".
simdjson::dom::array as_array(simdjson::dom::element element) {
  simdjson::dom::array array;
  [[maybe_unused]] const auto error = element.get_array().get(array);
  return array;
}
simdjson::dom::object as_object(simdjson::dom::element element) {
  simdjson::dom::object object;
  [[maybe_unused]] const auto error = element.get_object().get(object);
  return object;
}

// ---- value wrappers: the evaluator's view of a value ---------------------------------
//
// Each provides kind(), str(), num(), boolean(), size(), items(), members() (ranges of
// wrappers and (key, wrapper) pairs) and find(key, out).

/// An object's members read once from the tape: (key, value) in the document's order.
using MemberList = std::vector<std::pair<std::string_view, simdjson::dom::element>>;

/// A value of simdjson's DOM (the tape of the document being checked).
///
/// The root object carries its members as a list (shape_of() reads them anyway): the rules of a
/// root object look its members up many times (required, each oneOf variant's required and not
/// required, the equal pair, properties), and a scan of that list costs less than a walk of the
/// tape, which reads each key's length from the string buffer and skips each value.
class SimdValue {
 public:
  SimdValue() = default;
  explicit SimdValue(simdjson::dom::element element, const MemberList* members = nullptr)
      : element_(element), list_(members) {}

  // Inlined wherever it is called: the evaluator's hottest call (g++ stops inlining it on its own
  // once report() calls it too, at about 400 instructions a document).
  [[gnu::always_inline]] Kind kind() const {
    switch (element_.type()) {
      case simdjson::dom::element_type::ARRAY:
        return Kind::kArray;
      case simdjson::dom::element_type::OBJECT:
        return Kind::kObject;
      case simdjson::dom::element_type::STRING:
        return Kind::kString;
      case simdjson::dom::element_type::BOOL:
        return Kind::kBoolean;
      case simdjson::dom::element_type::NULL_VALUE:
        return Kind::kNull;
      default:
        return Kind::kNumber;
    }
  }
  std::string_view str() const {
    std::string_view text;
    [[maybe_unused]] const auto error = element_.get_string().get(text);
    return text;
  }
  bool boolean() const {
    bool value = false;
    [[maybe_unused]] const auto error = element_.get_bool().get(value);
    return value;
  }
  Number num() const {
    switch (element_.type()) {
      case simdjson::dom::element_type::INT64: {
        std::int64_t value = 0;
        [[maybe_unused]] const auto error = element_.get_int64().get(value);
        return Number::of_int(value);
      }
      case simdjson::dom::element_type::UINT64: {
        std::uint64_t value = 0;
        [[maybe_unused]] const auto error = element_.get_uint64().get(value);
        return Number::of_uint(value);
      }
      default: {
        double value = 0;
        [[maybe_unused]] const auto error = element_.get_double().get(value);
        return Number::of_double(value);
      }
    }
  }
  simdjson::dom::element element() const { return element_; }
  std::size_t size() const {
    if (list_ != nullptr) return list_->size();
    if (element_.type() == simdjson::dom::element_type::ARRAY) return as_array(element_).size();
    return as_object(element_).size();
  }

  class ItemIterator {
   public:
    explicit ItemIterator(simdjson::dom::array::iterator it) : it_(it) {}
    SimdValue operator*() const { return SimdValue(*it_); }
    ItemIterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const ItemIterator& other) const { return it_ != other.it_; }

   private:
    simdjson::dom::array::iterator it_;
  };
  struct Items {
    simdjson::dom::array array;
    ItemIterator begin() const { return ItemIterator(array.begin()); }
    ItemIterator end() const { return ItemIterator(array.end()); }
  };
  Items items() const { return Items{as_array(element_)}; }

  /// Over the tape, or over the list when the object has one.
  class MemberIterator {
   public:
    explicit MemberIterator(simdjson::dom::object::iterator it) : it_(it) {}
    explicit MemberIterator(MemberList::const_iterator at) : at_(at), listed_(true) {}
    std::pair<std::string_view, SimdValue> operator*() const {
      if (listed_) return {at_->first, SimdValue(at_->second)};
      return {it_.key(), SimdValue(it_.value())};
    }
    MemberIterator& operator++() {
      if (listed_)
        ++at_;
      else
        ++it_;
      return *this;
    }
    bool operator!=(const MemberIterator& other) const {
      return listed_ ? at_ != other.at_ : it_ != other.it_;
    }

   private:
    simdjson::dom::object::iterator it_;
    MemberList::const_iterator at_;
    bool listed_ = false;
  };
  struct Members {
    simdjson::dom::object object;
    const MemberList* list;
    MemberIterator begin() const {
      return list != nullptr ? MemberIterator(list->begin()) : MemberIterator(object.begin());
    }
    MemberIterator end() const {
      return list != nullptr ? MemberIterator(list->end()) : MemberIterator(object.end());
    }
  };
  Members members() const {
    if (list_ != nullptr) return Members{simdjson::dom::object(), list_};
    return Members{as_object(element_), nullptr};
  }

  // Inlined for the root's list, which the rules of a root object search many times a document
  // (about ten): out of line, each search paid a frame of six saved registers. Inlined, the
  // verdict no longer slowed by 7-9% when an unrelated thread_local variable moved this thread's
  // data (bench/README.md, "the layout of a build").
  [[gnu::always_inline]] bool find(std::string_view key, SimdValue& out) const {
    if (list_ != nullptr) {
      for (const auto& [name, value] : *list_) {
        if (same(name, key)) {
          out = SimdValue(value);
          return true;
        }
      }
      return false;
    }
    return find_on_tape(key, out);
  }

 private:
  [[gnu::noinline]] bool find_on_tape(std::string_view key, SimdValue& out) const {
    const simdjson::dom::object object = as_object(element_);
    for (auto it = object.begin(), end = object.end(); it != end; ++it) {
      if (same(it.key(), key)) {
        out = SimdValue(it.value());
        return true;
      }
    }
    return false;
  }

  simdjson::dom::element element_;
  const MemberList* list_ = nullptr;  ///< the members, when the object has them listed
};

/// A nlohmann value (a document, or a constant of the schema).
class NlohmannValue {
 public:
  NlohmannValue() = default;
  explicit NlohmannValue(const Json& value) : value_(&value) {}

  Kind kind() const {
    switch (value_->type()) {
      case Json::value_t::array:
        return Kind::kArray;
      case Json::value_t::object:
        return Kind::kObject;
      case Json::value_t::string:
        return Kind::kString;
      case Json::value_t::boolean:
        return Kind::kBoolean;
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float:
        return Kind::kNumber;
      default:
        return Kind::kNull;
    }
  }
  std::string_view str() const { return value_->get_ref<const std::string&>(); }
  bool boolean() const { return value_->get<bool>(); }
  Number num() const { return validation::to_number(*value_); }
  std::size_t size() const { return value_->size(); }

  class ItemIterator {
   public:
    explicit ItemIterator(Json::array_t::const_iterator it) : it_(it) {}
    NlohmannValue operator*() const { return NlohmannValue(*it_); }
    ItemIterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const ItemIterator& other) const { return it_ != other.it_; }

   private:
    Json::array_t::const_iterator it_;
  };
  struct Items {
    const Json::array_t* array;
    ItemIterator begin() const { return ItemIterator(array->begin()); }
    ItemIterator end() const { return ItemIterator(array->end()); }
  };
  Items items() const { return Items{&value_->get_ref<const Json::array_t&>()}; }

  class MemberIterator {
   public:
    explicit MemberIterator(Json::object_t::const_iterator it) : it_(it) {}
    std::pair<std::string_view, NlohmannValue> operator*() const {
      return {it_->first, NlohmannValue(it_->second)};
    }
    MemberIterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const MemberIterator& other) const { return it_ != other.it_; }

   private:
    Json::object_t::const_iterator it_;
  };
  struct Members {
    const Json::object_t* object;
    MemberIterator begin() const { return MemberIterator(object->begin()); }
    MemberIterator end() const { return MemberIterator(object->end()); }
  };
  Members members() const { return Members{&value_->get_ref<const Json::object_t&>()}; }

  bool find(std::string_view key, NlohmannValue& out) const {
    const auto& object = value_->get_ref<const Json::object_t&>();
    auto it = object.find(key);
    if (it == object.end()) return false;
    out = NlohmannValue(it->second);
    return true;
  }

 private:
  const Json* value_ = nullptr;
};

/// A property name, checked by propertyNames: a string and nothing else.
class NameValue {
 public:
  NameValue() = default;
  explicit NameValue(std::string_view name) : name_(name) {}
  Kind kind() const { return Kind::kString; }
  std::string_view str() const { return name_; }
  // Never called on a string; present so that the evaluator compiles for this type.
  bool boolean() const { return false; }
  Number num() const { return Number{}; }
  std::size_t size() const { return 0; }
  struct Items {
    const NameValue* begin() const { return nullptr; }
    const NameValue* end() const { return nullptr; }
  };
  Items items() const { return {}; }
  struct Members {
    const std::pair<std::string_view, NameValue>* begin() const { return nullptr; }
    const std::pair<std::string_view, NameValue>* end() const { return nullptr; }
  };
  Members members() const { return {}; }
  bool find(std::string_view, NameValue&) const { return false; }

 private:
  std::string_view name_;
};

// ---- draft-7 equality and a hash consistent with it ------------------------------------

template <class A, class B>
bool equal(const A& a, const B& b) {
  const Kind kind = a.kind();
  if (kind != b.kind()) return false;
  switch (kind) {
    case Kind::kNumber:
      return compare_numbers(a.num(), b.num()) == 0;
    case Kind::kString:
      return same(a.str(), b.str());
    case Kind::kBoolean:
      return a.boolean() == b.boolean();
    case Kind::kNull:
      return true;
    case Kind::kArray: {
      if (a.size() != b.size()) return false;
      auto other = b.items().begin();
      for (const auto& item : a.items()) {
        if (!equal(item, *other)) return false;
        ++other;
      }
      return true;
    }
    case Kind::kObject: {
      // Keys are unique in both (the parsers refuse repeats), so equal sizes and every
      // member found equal in the other means equal objects.
      if (a.size() != b.size()) return false;
      for (const auto& [key, value] : a.members()) {
        B found;
        if (!b.find(key, found) || !equal(value, found)) return false;
      }
      return true;
    }
  }
  return false;
}

std::size_t mix(std::size_t seed, std::size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

std::size_t hash_number(const Number& n) {
  // Equal numbers hash alike whatever their representation (1, 1u and 1.0).
  switch (n.kind) {
    case Number::Kind::kInt:
      return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(n.i));
    case Number::Kind::kUint:
      return std::hash<std::uint64_t>{}(n.u);
    case Number::Kind::kDouble:
      break;
  }
  const double d = n.d;
  if (is_integral(n)) {
    if (d >= 0 && d < 18446744073709551616.0)
      return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(d));
    if (d < 0 && d >= -9223372036854775808.0)
      return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(static_cast<std::int64_t>(d)));
  }
  return std::hash<double>{}(d == 0 ? 0.0 : d);
}

template <class V>
std::size_t hash(const V& value) {
  switch (value.kind()) {
    case Kind::kNull:
      return 0x6e756c6cU;
    case Kind::kBoolean:
      return value.boolean() ? 0x74727565U : 0x66616c73U;
    case Kind::kString:
      return std::hash<std::string_view>{}(value.str());
    case Kind::kNumber:
      return hash_number(value.num());
    case Kind::kArray: {
      std::size_t seed = 0x61727261U;
      for (const auto& item : value.items()) seed = mix(seed, hash(item));
      return seed;
    }
    case Kind::kObject: {
      // Member order differs between equal objects: combine the members commutatively.
      std::size_t sum = 0x6f626a65U;
      for (const auto& [key, member] : value.members()) {
        sum += mix(std::hash<std::string_view>{}(key), hash(member));
      }
      return sum;
    }
  }
  return 0;
}

// ---- the evaluator ----------------------------------------------------------------------

/// Empties a thread's scratch vector, and frees it when a huge document made it grow, so that a
/// thread keeps no more than a small buffer after it.
template <class T>
void release(std::vector<T>& scratch) {
  constexpr std::size_t kKept = 4096;
  if (scratch.capacity() > kKept) {
    std::vector<T>().swap(scratch);
  } else {
    scratch.clear();
  }
}

bool matches(const re2::RE2& regex, std::string_view text) {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), regex);
}

bool type_matches(std::uint64_t mask, Kind kind, const Number* number) {
  switch (kind) {
    case Kind::kNull:
      return mask & validation::kTypeNull;
    case Kind::kBoolean:
      return mask & validation::kTypeBoolean;
    case Kind::kObject:
      return mask & validation::kTypeObject;
    case Kind::kArray:
      return mask & validation::kTypeArray;
    case Kind::kString:
      return mask & validation::kTypeString;
    case Kind::kNumber:
      // Draft 7: an integer is any number with a zero fractional part, 1.0 included.
      return (mask & validation::kTypeNumber) || ((mask & validation::kTypeInteger) && is_integral(*number));
  }
  return false;
}

template <class V>
bool has(const V& object, std::string_view name) {
  for (const auto& [key, value] : object.members()) {
    if (same(key, name)) return true;
  }
  return false;
}

/// On simdjson's document, find()'s own loop (over the root's list, or the tape).
template <>
bool has(const SimdValue& object, std::string_view name) {
  SimdValue found;
  return object.find(name, found);
}

template <class V>
bool eval(const Program& program, std::uint32_t node, const V& value);

template <class V>
bool unique(const V& value) {
  const std::size_t size = value.size();
  if (size < 2) return true;
  constexpr std::size_t kPairwise = 16;
  if (size <= kPairwise) {
    for (auto a = value.items().begin(), end = value.items().end(); a != end; ++a) {
      auto b = a;
      for (++b; b != end; ++b) {
        if (equal(*a, *b)) return false;
      }
    }
    return true;
  }
  // Hashing keeps this linear in practice: a pairwise scan of a million items would never end.
  thread_local std::vector<std::pair<std::size_t, V>> hashed;
  hashed.clear();
  for (const auto& item : value.items()) hashed.emplace_back(hash(item), item);
  std::sort(hashed.begin(), hashed.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (std::size_t i = 0; i < hashed.size(); ++i) {
    for (std::size_t j = i + 1; j < hashed.size() && hashed[j].first == hashed[i].first; ++j) {
      if (equal(hashed[i].second, hashed[j].second)) {
        release(hashed);
        return false;
      }
    }
  }
  release(hashed);
  return true;
}

/// Where the last object_rule() that failed on this thread stopped: its failing member's position.
/// Right after the root's rule failed, that is the root's (a member's own rules fail first).
thread_local std::size_t failed_member = 0;

template <class V>
bool object_rule(const Program& program, const ObjectRule& rule, const V& value) {
  std::size_t position = 0;
  const auto refuse = [&] {
    failed_member = position;
    return false;
  };
  for (const auto& [key, member] : value.members()) {
    bool matched = false;
    if (const auto* property = find_property(rule, key)) {
      if (!eval(program, property->second, member)) return refuse();
      matched = true;
    }
    for (const auto& [regex, schema] : rule.patterns) {
      if (!matches(*program.regexes[regex], key)) continue;
      matched = true;
      if (!eval(program, schema, member)) return refuse();
    }
    if (!matched && (rule.forbidden || (rule.additional != kNone && !eval(program, rule.additional, member))))
      return refuse();
    ++position;
  }
  return true;
}

/// Whether `text` is one of the enum's strings.
[[gnu::always_inline]] inline bool enum_has(const EnumSet& set, std::string_view text) {
  if (set.strings.size() <= 16) {
    const EnumSet::Key key(text);
    for (std::size_t i = 0; i < set.keys.size(); ++i) {
      if (set.keys[i] == key && (key.size <= EnumSet::Key::kWhole || same(set.strings[i], text))) return true;
    }
    return false;
  }
  return std::binary_search(set.strings.begin(), set.strings.end(), text, [](const auto& x, const auto& y) {
    return std::string_view(x) < std::string_view(y);
  });
}

template <class V>
bool step(const Program& program, const Step& s, const V& value) {
  const Kind kind = value.kind();
  switch (s.op) {
    case Op::kType: {
      if (kind != Kind::kNumber) return type_matches(s.n, kind, nullptr);
      const Number number = value.num();
      return type_matches(s.n, kind, &number);
    }
    case Op::kEnum: {
      const EnumSet& set = program.enums[s.a];
      if (kind == Kind::kString) return enum_has(set, value.str());
      if (set.only_strings) return false;
      for (const auto& allowed : set.values) {
        if (equal(value, NlohmannValue(allowed))) return true;
      }
      return false;
    }
    case Op::kConst:
      return equal(value, NlohmannValue(program.consts[s.a]));
    case Op::kFormat:
      return kind != Kind::kString ||
             validation::check_format(static_cast<validation::Format>(s.n), value.str());
    case Op::kPattern:
      return kind != Kind::kString || matches(*program.regexes[s.a], value.str());
    case Op::kMinLength:
      return kind != Kind::kString || validation::utf8_length(value.str()) >= s.n;
    case Op::kMaxLength:
      return kind != Kind::kString || validation::utf8_length(value.str()) <= s.n;
    case Op::kMinItems:
      return kind != Kind::kArray || value.size() >= s.n;
    case Op::kMaxItems:
      return kind != Kind::kArray || value.size() <= s.n;
    case Op::kMinProperties:
      return kind != Kind::kObject || value.size() >= s.n;
    case Op::kMaxProperties:
      return kind != Kind::kObject || value.size() <= s.n;
    case Op::kMinimum:
      return kind != Kind::kNumber || compare_numbers(value.num(), program.numbers[s.a]) >= 0;
    case Op::kExclusiveMinimum:
      return kind != Kind::kNumber || compare_numbers(value.num(), program.numbers[s.a]) > 0;
    case Op::kMaximum:
      return kind != Kind::kNumber || compare_numbers(value.num(), program.numbers[s.a]) <= 0;
    case Op::kExclusiveMaximum:
      return kind != Kind::kNumber || compare_numbers(value.num(), program.numbers[s.a]) < 0;
    case Op::kMultipleOf:
      return kind != Kind::kNumber || validation::is_multiple(value.num(), program.numbers[s.a]);
    case Op::kUniqueItems:
      return kind != Kind::kArray || unique(value);
    case Op::kRequired: {
      if (kind != Kind::kObject) return true;
      for (const auto& name : program.name_lists[s.a]) {
        if (!has(value, name)) return false;
      }
      return true;
    }
    case Op::kDependencies: {
      if (kind != Kind::kObject) return true;
      const DependencyRule& rule = program.dependencies[s.a];
      for (const auto& [name, needed] : rule.lists) {
        if (!has(value, name)) continue;
        for (const auto& other : needed) {
          if (!has(value, other)) return false;
        }
      }
      for (const auto& [name, schema] : rule.schemas) {
        if (has(value, name) && !eval(program, schema, value)) return false;
      }
      return true;
    }
    case Op::kPropertyNames: {
      if (kind != Kind::kObject) return true;
      for (const auto& [key, member] : value.members()) {
        if (!eval(program, s.a, NameValue(key))) return false;
      }
      return true;
    }
    case Op::kObject:
      return kind != Kind::kObject || object_rule(program, program.objects[s.a], value);
    case Op::kItems: {
      if (kind != Kind::kArray) return true;
      for (const auto& item : value.items()) {
        if (!eval(program, s.a, item)) return false;
      }
      return true;
    }
    case Op::kTuple: {
      if (kind != Kind::kArray) return true;
      const TupleRule& rule = program.tuples[s.a];
      std::size_t i = 0;
      for (const auto& item : value.items()) {
        if (i < rule.items.size()) {
          if (!eval(program, rule.items[i], item)) return false;
        } else {
          if (rule.forbidden) return false;
          if (rule.additional == kNone) return true;
          if (!eval(program, rule.additional, item)) return false;
        }
        ++i;
      }
      return true;
    }
    case Op::kContains: {
      if (kind != Kind::kArray) return true;
      for (const auto& item : value.items()) {
        if (eval(program, s.a, item)) return true;
      }
      return false;
    }
    case Op::kAllOf: {
      for (std::uint32_t schema : program.node_lists[s.a]) {
        if (!eval(program, schema, value)) return false;
      }
      return true;
    }
    case Op::kAnyOf: {
      for (std::uint32_t schema : program.node_lists[s.a]) {
        if (eval(program, schema, value)) return true;
      }
      return false;
    }
    case Op::kOneOf: {
      std::size_t matched = 0;
      for (std::uint32_t schema : program.node_lists[s.a]) {
        if (eval(program, schema, value) && ++matched > 1) return false;
      }
      return matched == 1;
    }
    case Op::kNot:
      return !eval(program, s.a, value);
    case Op::kForbidden: {
      // `not` of `required` lists: "required" holds for any non-object, so "not" fails.
      if (kind != Kind::kObject) return false;
      for (const auto& group : program.groups[s.a]) {
        if (std::all_of(group.begin(), group.end(),
                        [&](const std::string& name) { return has(value, name); }))
          return false;
      }
      return true;
    }
    case Op::kIf:
      if (eval(program, s.a, value)) return s.b == kNone || eval(program, s.b, value);
      return s.c == kNone || eval(program, s.c, value);
    case Op::kEqualProperties: {
      if (kind != Kind::kObject) return true;
      for (const auto& [name, other] : program.pairs[s.a]) {
        V a, b;
        if (value.find(name, a) && value.find(other, b) && !equal(a, b)) return false;
      }
      return true;
    }
    case Op::kFalse:
      return false;
  }
  return false;
}

template <class V>
bool eval(const Program& program, std::uint32_t node, const V& value) {
  const Node& n = program.nodes[node];
  const Kind kind = value.kind();
  for (std::uint32_t i = n.begin; i < n.end; ++i) {
    const Step& s = program.steps[i];
    // The steps most values meet are decided here, without step()'s call and frame.
    if (s.op == Op::kType && kind != Kind::kNumber) {
      if (!type_matches(s.n, kind, nullptr)) return false;
    } else if (s.op == Op::kEnum && kind == Kind::kString) {
      if (!enum_has(program.enums[s.a], value.str())) return false;
    } else if (!step(program, s, value)) {
      return false;
    }
  }
  return true;
}

// ---- parsing with simdjson ----------------------------------------------------------------

/// Documents up to this size use the thread's parser, which keeps its buffers (about 15 bytes
/// per byte of the largest document it parsed: under 1 MiB a thread, however many threads a
/// caller runs); larger ones get a parser of their own, freed after, whose allocation is small
/// beside parsing them.
constexpr std::size_t kThreadParserBytes = 64u << 10;

/// The parse rules of parse_json that simdjson does not apply: nesting deeper than
/// `max_depth`, and a key repeated in one object (compared after unescaping).
enum class Shape { kOk, kTooDeep, kRepeatedKey };

/// Also lists the root object's members into `root_members` (left empty for any other root).
Shape shape_of(simdjson::dom::element root, std::size_t max_depth, std::size_t& depth_out,
               MemberList& root_members) {
  using simdjson::dom::element_type;
  thread_local std::vector<std::pair<simdjson::dom::element, std::size_t>> stack;
  thread_local std::vector<std::string_view> keys;
  stack.clear();
  std::size_t deepest = 0;
  const auto structured = [](simdjson::dom::element e) {
    const auto type = e.type();
    return type == element_type::ARRAY || type == element_type::OBJECT;
  };
  if (structured(root)) stack.emplace_back(root, 1);
  Shape shape = Shape::kOk;
  while (!stack.empty()) {
    const auto [element, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    if (depth > max_depth) {
      shape = Shape::kTooDeep;
      break;
    }
    if (element.type() == element_type::ARRAY) {
      for (simdjson::dom::element item : as_array(element)) {
        if (structured(item)) stack.emplace_back(item, depth + 1);
      }
      continue;
    }
    const simdjson::dom::object object = as_object(element);
    keys.clear();
    const bool is_root = depth == 1;
    // A repeated key: two keys can only be the same where their lengths (modulo 64) meet, so a
    // key is compared with the earlier ones only then, here while the object is small, and a
    // larger object's keys are sorted after.
    constexpr std::size_t kPairwise = 12;
    std::uint64_t lengths = 0;
    bool lengths_meet = false;
    bool repeated = false;
    for (auto it = object.begin(); it != object.end(); ++it) {
      // The key from a register, not read back from keys: a 16-byte load of what two 8-byte
      // stores just wrote cannot be forwarded, and stalled here on every member.
      const std::string_view key = it.key();
      const std::uint64_t length_bit = std::uint64_t{1} << (key.size() % 64);
      if ((lengths & length_bit) != 0) {
        lengths_meet = true;
        if (keys.size() < kPairwise) {
          for (const std::string_view earlier : keys) repeated |= same(earlier, key);
        }
      }
      lengths |= length_bit;
      keys.push_back(key);
      const simdjson::dom::element member = it.value();
      if (is_root) root_members.emplace_back(key, member);
      if (structured(member)) stack.emplace_back(member, depth + 1);
    }
    if (!repeated && lengths_meet && keys.size() > kPairwise) {
      std::sort(keys.begin(), keys.end());
      repeated = std::adjacent_find(keys.begin(), keys.end()) != keys.end();
    }
    if (repeated) {
      shape = Shape::kRepeatedKey;
      break;
    }
  }
  release(stack);
  release(keys);
  depth_out = deepest;
  return shape;
}

// ---- strict mode ---------------------------------------------------------------------------

/// Extends `nodes` (the schema objects entered at one instance location) with every node they
/// apply in place: allOf, anyOf, oneOf, if/then/else and dependencies schemas ("$ref"s are
/// already resolved into node indices). `not` is left out: what it names is not allowed.
void in_place_closure(const Program& program, std::vector<std::uint32_t>& nodes) {
  // Seen nodes are marked with this call's epoch: linear in the closure however large the schema.
  thread_local std::vector<std::uint64_t> marks;
  thread_local std::uint64_t epoch = 0;
  if (marks.size() < program.nodes.size()) marks.assign(program.nodes.size(), 0);
  ++epoch;
  std::size_t kept = 0;
  for (std::uint32_t node : nodes) {
    if (marks[node] != epoch) marks[node] = epoch, nodes[kept++] = node;
  }
  nodes.resize(kept);
  const auto add = [&](std::uint32_t node) {
    if (node != kNone && marks[node] != epoch) marks[node] = epoch, nodes.push_back(node);
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = program.nodes[nodes[i]];
    for (std::uint32_t k = n.begin; k < n.end; ++k) {
      const Step& s = program.steps[k];
      switch (s.op) {
        case Op::kAllOf:
        case Op::kAnyOf:
        case Op::kOneOf:
          for (std::uint32_t schema : program.node_lists[s.a]) add(schema);
          break;
        case Op::kIf:
          add(s.a);
          add(s.b);
          add(s.c);
          break;
        case Op::kDependencies:
          for (const auto& entry : program.dependencies[s.a].schemas) add(entry.second);
          break;
        default:
          break;
      }
    }
  }
}

/// Walks `value` with the schema objects that apply to it; reports undeclared members into
/// `out` (with `context`, valijson-style tokens) or, without `out`, stops at the first.
template <class V>
bool strict_walk(const Program& program, std::vector<std::uint32_t> nodes, const V& value,
                 validation::Context* context, std::vector<validation::LocatedFinding>* out) {
  const Kind kind = value.kind();
  if (nodes.empty() || (kind != Kind::kObject && kind != Kind::kArray)) return true;
  in_place_closure(program, nodes);
  bool ok = true;
  const auto descend = [&](std::vector<std::uint32_t> child, const V& member, std::string token) {
    if (child.empty()) return true;
    if (out == nullptr) return strict_walk(program, std::move(child), member, nullptr, nullptr);
    context->push_back("[" + std::move(token) + "]");
    const bool passed = strict_walk(program, std::move(child), member, context, out);
    context->pop_back();
    return passed;
  };
  if (kind == Kind::kObject) {
    std::vector<const ObjectRule*> rules;
    for (std::uint32_t node : nodes) {
      const Node& n = program.nodes[node];
      for (std::uint32_t k = n.begin; k < n.end; ++k) {
        if (program.steps[k].op == Op::kObject) rules.push_back(&program.objects[program.steps[k].a]);
      }
    }
    // Judged only where members are declared and neither let in nor kept out by additionalProperties.
    const bool judged = !rules.empty() && std::none_of(rules.begin(), rules.end(), [](const ObjectRule* r) {
      return r->open || r->forbidden || r->additional != kNone;
    });
    for (const auto& [key, member] : value.members()) {
      std::vector<std::uint32_t> child;
      bool declared = false;
      for (const ObjectRule* rule : rules) {
        bool matched = false;
        if (const auto* property = find_property(*rule, key))
          child.push_back(property->second), matched = true;
        for (const auto& [regex, schema] : rule->patterns) {
          if (matches(*program.regexes[regex], key)) child.push_back(schema), matched = true;
        }
        if (!matched && rule->additional != kNone) child.push_back(rule->additional);
        declared = declared || matched;
      }
      if (judged && !declared) {
        if (out == nullptr) return false;
        ok = false;
        std::vector<std::string> names;
        for (const ObjectRule* rule : rules) {
          for (const auto& entry : rule->properties) names.push_back(entry.first);
        }
        out->push_back({*context, validation::undeclared_property(key, names)});
      }
      if (!descend(std::move(child), member, std::string(key))) {
        if (out == nullptr) return false;
        ok = false;
      }
    }
    return ok;
  }
  std::size_t index = 0;
  for (const auto& item : value.items()) {
    std::vector<std::uint32_t> child;
    for (std::uint32_t node : nodes) {
      const Node& n = program.nodes[node];
      for (std::uint32_t k = n.begin; k < n.end; ++k) {
        const Step& s = program.steps[k];
        if (s.op == Op::kItems) child.push_back(s.a);
        if (s.op == Op::kTuple) {
          const TupleRule& rule = program.tuples[s.a];
          const std::uint32_t schema = index < rule.items.size() ? rule.items[index] : rule.additional;
          if (schema != kNone) child.push_back(schema);
        }
      }
    }
    if (!descend(std::move(child), item, std::to_string(index))) {
      if (out == nullptr) return false;
      ok = false;
    }
    ++index;
  }
  return ok;
}

}  // namespace

bool valid(const Program& program, const Json& instance) {
  return eval(program, program.root, NlohmannValue(instance));
}

bool valid_at(const Program& program, std::uint32_t node, const Json& value) {
  return eval(program, node, NlohmannValue(value));
}

bool strict_valid(const Program& program, const Json& instance) {
  return strict_walk(program, {program.root}, NlohmannValue(instance), nullptr, nullptr);
}

void strict_findings(const Program& program, const Json& instance,
                     std::vector<validation::LocatedFinding>& out) {
  validation::Context context = {"<root>"};
  strict_walk(program, {program.root}, NlohmannValue(instance), &context, &out);
}

namespace {

/// The nlohmann document parse_json() builds from the same text: integers >= 0 unsigned and
/// negative ones signed, as nlohmann's lexer types them ("-0", which simdjson reads as the
/// integer 0, becomes unsigned 0: the same value, rendered and compared alike).
Json to_nlohmann(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::ARRAY: {
      Json out = Json::array();
      auto& items = out.get_ref<Json::array_t&>();
      const auto array = as_array(element);
      items.reserve(array.size());
      for (simdjson::dom::element item : array) items.push_back(to_nlohmann(item));
      return out;
    }
    case element_type::OBJECT: {
      Json out = Json::object();
      auto& members = out.get_ref<Json::object_t&>();
      for (const auto& member : as_object(element)) members.emplace(member.key, to_nlohmann(member.value));
      return out;
    }
    case element_type::STRING:
      return Json(std::string(SimdValue(element).str()));
    case element_type::BOOL:
      return Json(SimdValue(element).boolean());
    case element_type::NULL_VALUE:
      return Json(nullptr);
    default: {
      const Number number = SimdValue(element).num();
      switch (number.kind) {
        case Number::Kind::kInt:
          return number.i >= 0 ? Json(static_cast<std::uint64_t>(number.i)) : Json(number.i);
        case Number::Kind::kUint:
          return Json(number.u);
        case Number::Kind::kDouble:
          break;
      }
      return Json(number.d);
    }
  }
}

// ---- findings from the verdict program ------------------------------------------------------
//
// A refused document's findings, made on simdjson's document: the program's nodes are followed
// down to the rules that fail, in the order the findings path runs them, and each failing rule of
// a value is worded by the findings path's own check (Program::checks) on that value alone,
// converted as to_nlohmann() converts the whole document. So the findings are the findings
// path's, without its copy of the document and its walk, for the rules report() follows: a
// value's own rules, required, the equal pair, presence rules, oneOf and anyOf, properties (and
// additionalProperties where it holds), items (one schema for all) and if/then/else. Any other
// rule that fails (allOf, not, contains, dependencies, tuples, patternProperties, ...) leaves the
// document to the findings path, and so does a document with many findings (kMostSpent): the
// findings path's limits (kMaxRawFindings, kMaxFindings, counted with its summaries) then decide
// what is shown, and report() spends little before it knows.

/// report()'s budget: findings plus two per failing schema object visited, far below the findings
/// path's limits, so that a document report() explains never reaches them.
constexpr std::size_t kMostSpent = 256;

class Reporter {
 public:
  /// `indices`: where the index tokens' text is kept (views in `out` point there); `spent`: the
  /// walk's budget so far, shared by the reporters of oneOf/anyOf variants (kMostSpent).
  Reporter(const Program& program, std::vector<validation::PlacedFinding>& out,
           std::deque<std::string>& indices, std::size_t& spent)
      : program_(program), out_(out), indices_(indices), spent_(spent) {}

  /// The verdict's evaluation of the root stopped at step `failed` (and, when that is properties, at
  /// member `member`): what came before holds, and is not evaluated again.
  void known(std::uint32_t failed, std::size_t member) {
    failed_ = failed;
    failed_member_ = member;
  }

  /// Reports why `value` fails `node` (it does). `passed`: the steps before it are known to hold
  /// (known()), so they are not evaluated again.
  void node(std::uint32_t node, const SimdValue& value, std::uint32_t passed = 0) {
    // A failing schema object costs the findings path up to two entries of its own (an if/then/else
    // summary, valijson's for a "$ref"), which count toward its limits too.
    if ((spent_ += 2) > kMostSpent) {
      unexplained();
      return;
    }
    const Node& n = program_.nodes[node];
    // allOf is valijson's own keyword in the findings path, run beside the compiled checks and not
    // stopped by a wrong type: where it fails, the findings path says what that means.
    for (std::uint32_t i = std::max(n.begin, passed); i < n.end; ++i) {
      if (program_.steps[i].op == Op::kAllOf && !step(program_, program_.steps[i], value)) {
        unexplained();
        return;
      }
    }
    // The findings path's order: if/then/else, then properties, then the others as the program has
    // them (type first); a wrong type stops the node's later rules.
    for (std::uint32_t i = std::max(n.begin, passed); i < n.end && !given_up_; ++i)
      if (program_.steps[i].op == Op::kIf) failing(i, value);
    for (std::uint32_t i = std::max(n.begin, passed); i < n.end && !given_up_; ++i)
      if (program_.steps[i].op == Op::kObject) failing(i, value);
    for (std::uint32_t i = std::max(n.begin, passed); i < n.end && !given_up_; ++i) {
      const Op op = program_.steps[i].op;
      if (op == Op::kIf || op == Op::kObject) continue;
      if (failing(i, value) && op == Op::kType) return;
    }
  }

  /// True when a failing rule was one report() does not follow: the findings path must explain
  /// the document (a flag, not an exception: a throw costs more than the findings path).
  bool given_up() const { return given_up_; }

 private:
  /// Reports step `i` on `value` when it fails; true when it did.
  bool failing(std::uint32_t i, const SimdValue& value) {
    const Step& s = program_.steps[i];
    // The rules that apply subschemas find their failing parts themselves, without a verdict first.
    if (s.op == Op::kObject) return members(program_.objects[s.a], value, i == failed_ ? failed_member_ : 0);
    if (s.op == Op::kItems) return items(s.a, value);
    if (s.op == Op::kIf) {
      const std::uint32_t branch = eval(program_, s.a, value) ? s.b : s.c;
      if (branch == kNone || eval(program_, branch, value)) return false;
      node(branch, value);
      return true;
    }
    // oneOf: variants() evaluates each variant once, and tells from that whether the rule holds
    // (anyOf's verdict stops at its first match).
    if (s.op == Op::kOneOf) return variants(i, value);
    if (step(program_, s, value)) return false;
    switch (s.op) {
      case Op::kAnyOf:
        return variants(i, value);
      case Op::kRequired:
        for (const auto& name : program_.name_lists[s.a])
          if (!has(value, name)) add(validation::missing_property(name));
        return true;
      case Op::kForbidden: {
        const std::function<bool(const std::string&)> present = [&](const std::string& name) {
          return has(value, name);
        };
        add(validation::forbidden_finding(program_.groups[s.a],
                                          value.kind() == Kind::kObject ? &present : nullptr));
        return true;
      }
      case Op::kEqualProperties:
        for (const auto& [name, other] : program_.pairs[s.a]) {
          SimdValue a, b;
          if (!value.find(name, a) || !value.find(other, b) || equal(a, b)) continue;
          path_.push_back({false, 0, name});
          add(validation::unequal_property(other));
          path_.pop_back();
        }
        return true;
      default: {
        const validation::Check* check = program_.checks[i];
        if (check == nullptr) return unexplained();
        // Kept per thread: a check reports into it and report() takes its findings at once (a
        // check runs no report() of its own).
        thread_local std::vector<validation::RawFinding> found;
        found.clear();
        // Emptied on every way out (a throw of TooManyFindings too): no finding stays behind.
        const struct Emptied {
          std::vector<validation::RawFinding>& list;
          ~Emptied() { list.clear(); }
        } emptied{found};
        const validation::Out out(found, secret());
        // The verdicts agree (the differential tests hold them to it); were they not to, the
        // findings path explains the document.
        if (check->check(to_nlohmann(value.element()), out)) return unexplained();
        for (auto& finding : found) add(std::move(finding));
        return true;
      }
    }
  }

  /// oneOf, anyOf: false when the rule holds (a oneOf's verdict is made here); else reported as the
  /// findings path's check words it, from what report() finds each variant.
  bool variants(std::uint32_t i, const SimdValue& value) {
    const auto& nodes = program_.node_lists[program_.steps[i].a];
    std::vector<std::size_t> matched;
    for (std::size_t k = 0; k < nodes.size(); ++k)
      if (eval(program_, nodes[k], value)) matched.push_back(k);
    if (program_.steps[i].op == Op::kOneOf ? matched.size() == 1 : !matched.empty()) return false;
    const validation::Check* check = program_.checks[i];
    if (check == nullptr) return unexplained();
    // Each variant's findings, when none matched, made as the top level makes them.
    std::vector<std::vector<validation::PlacedFinding>> found(matched.empty() ? nodes.size() : 0);
    std::vector<std::vector<validation::VariantFinding>> per_variant(found.size());
    for (std::size_t k = 0; k < found.size(); ++k) {
      Reporter variant(program_, found[k], indices_, spent_);
      variant.path_ = path_;
      variant.node(nodes[k], value);
      if (variant.given_up_) return unexplained();
      validation::drop_repeated(found[k]);
      for (auto& item : found[k])
        per_variant[k].push_back({item.tokens.size() == path_.size(), &item.finding});
    }
    validation::VariantsReport report = validation::report_variants(*check, matched, per_variant);
    for (auto& [index, finding] : report.findings) {
      if (index == validation::VariantsReport::kHere) {
        add(std::move(finding));
      } else {
        out_.push_back({std::move(found[report.variant][index].tokens), std::move(finding)});
      }
    }
    return true;
  }

  /// properties: each member that fails its declared schema (the first `passed` members hold).
  bool members(const ObjectRule& rule, const SimdValue& value, std::size_t passed) {
    if (value.kind() != Kind::kObject) return false;
    // patternProperties: the findings path's check says what they say, when the rule fails at all.
    if (!rule.patterns.empty()) return object_rule(program_, rule, value) ? false : unexplained();
    bool failed = false;
    std::size_t position = 0;
    for (const auto& [key, member] : value.members()) {
      if (given_up_) break;
      if (position++ < passed) continue;
      const auto* property = find_property(rule, key);
      const bool declared = property != nullptr;
      if (declared && !eval(program_, property->second, member)) {
        below(false, 0, key, property->second, member);
        failed = true;
      }
      // A member additionalProperties refuses: the findings path's check says what that means.
      if (!declared &&
          (rule.forbidden || (rule.additional != kNone && !eval(program_, rule.additional, member))))
        return unexplained();
    }
    return failed;
  }

  /// items (one schema for all): each item that fails it.
  bool items(std::uint32_t schema, const SimdValue& value) {
    if (value.kind() != Kind::kArray) return false;
    bool failed = false;
    std::size_t index = 0;
    for (const SimdValue item : value.items()) {
      if (given_up_) break;
      if (!eval(program_, schema, item)) {
        below(true, index, indices_.emplace_back(std::to_string(index)), schema, item);
        failed = true;
      }
      ++index;
    }
    return failed;
  }

  void below(bool index, std::size_t number, std::string_view name, std::uint32_t schema,
             const SimdValue& value) {
    path_.push_back({index, number, name});
    node(schema, value);
    path_.pop_back();
  }

  bool unexplained() {
    given_up_ = true;
    return true;
  }

  void add(validation::RawFinding&& finding) {
    if (++spent_ > kMostSpent) {
      unexplained();
      return;
    }
    auto& placed = out_.emplace_back();
    placed.tokens = path_;
    placed.finding = std::move(finding);
  }

  /// As the findings path's context_is_secret(): a token names a secret field.
  bool secret() const {
    return std::any_of(path_.begin(), path_.end(), [](const validation::PathToken& token) {
      return validation::is_secret_field(token.name);
    });
  }

  const Program& program_;
  std::vector<validation::PlacedFinding>& out_;
  std::vector<validation::PathToken> path_;
  std::deque<std::string>& indices_;
  std::size_t& spent_;
  bool given_up_ = false;
  std::uint32_t failed_ = kNone;  // known()
  std::size_t failed_member_ = 0;
};

/// The values of the document's secret fields (`fields`), wherever they sit; FindingsScope orders
/// them. `depth`: how deep the document's arrays and objects nest (shape_of(): 1 for a root object
/// of plain values, 2 when some of them are arrays or objects of plain values).
void collect_secrets(const SimdValue& document, const std::vector<std::string>& fields, std::size_t depth,
                     validation::SecretValues& secrets) {
  const auto structured = [](const SimdValue& v) {
    return v.kind() == Kind::kObject || v.kind() == Kind::kArray;
  };
  // A member named as a secret field: most names are ruled out by their length, without a call.
  const std::uint64_t lengths = validation::length_bits(fields);
  const auto names_secret = [lengths](std::string_view key) {
    return validation::length_may_match(lengths, key.size()) && validation::is_secret_field(key);
  };
  thread_local std::vector<std::pair<SimdValue, bool>> stack;
  stack.clear();
  if (document.kind() == Kind::kObject && depth <= 2) {
    // Nothing nests below the root's members: an array among them holds plain values, which no
    // name makes secret, and is not visited (most members that are not strings are such lists).
    for (const auto& [key, value] : document.members()) {
      const bool secret = names_secret(key);
      if (secret || value.kind() == Kind::kObject) stack.emplace_back(value, secret);
    }
  } else {
    stack.emplace_back(document, false);
  }
  while (!stack.empty()) {
    const auto [node, secret] = stack.back();
    stack.pop_back();
    switch (node.kind()) {
      case Kind::kObject:
        for (const auto& [key, value] : node.members()) {
          const bool member_secret = secret || names_secret(key);
          if (member_secret || structured(value)) stack.emplace_back(value, member_secret);
        }
        break;
      case Kind::kArray:
        for (const SimdValue item : node.items())
          if (secret || structured(item)) stack.emplace_back(item, secret);
        break;
      case Kind::kString:
        if (secret && !node.str().empty()) secrets.add(node.str());
        break;
      case Kind::kNumber:
        if (secret) validation::add_secret_number(secrets, to_nlohmann(node.element()));
        break;
      case Kind::kBoolean:
      case Kind::kNull:
        break;
    }
  }
  release(stack);
}

/// The findings of a document `program` refused, or false when the findings path must make them.
/// `failed`: the root's first failing step (the root's steps before it hold).
/// `depth`: how deep the document's arrays and objects nest (shape_of()).
bool explain(const Program& program, const SimdValue& document, std::size_t depth, std::uint32_t failed,
             const Refusal& refusal, std::vector<Finding>& findings) {
  const std::vector<std::string>& secret_fields = *refusal.secret_fields;
  const validation::FindingsScope scope(
      secret_fields,
      [&](validation::SecretValues& secrets) {
        if (!secret_fields.empty()) collect_secrets(document, secret_fields, depth, secrets);
      },
      refusal.names);
  std::vector<validation::PlacedFinding> placed;
  // Kept per thread (a deque allocates on construction); the views into it end with this call.
  thread_local std::deque<std::string> indices;
  indices.clear();
  try {
    std::size_t spent = 0;
    Reporter reporter(program, placed, indices, spent);
    reporter.known(failed, failed_member);
    reporter.node(program.root, document, failed);
    if (reporter.given_up()) return false;
  } catch (const validation::TooManyFindings&) {
    return false;
  }
  if (placed.empty() || placed.size() > validation::kMaxFindings) return false;
  findings = validation::place_findings(std::move(placed));
  return true;
}

}  // namespace

TextVerdict check_text(const Program& program, std::string_view text, const ParseLimits& limits,
                       std::size_t recursion_limit, bool strict, Refusal* refusal) {
  // parse_json accepts (and skips) one UTF-8 byte order mark; simdjson does not.
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.remove_prefix(3);
  thread_local simdjson::dom::parser thread_parser;
  std::optional<simdjson::dom::parser> own_parser;
  simdjson::dom::parser* parser = &thread_parser;
  if (text.size() > kThreadParserBytes) parser = &own_parser.emplace();
  simdjson::dom::element root;
  if (parser->parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) {
    // Refused, or beyond what simdjson reads (integers past 64 bits, nesting past its
    // own limit): parse_json decides, and says why.
    return TextVerdict::kUndecided;
  }
  std::size_t depth = 0;
  thread_local MemberList root_members;
  root_members.clear();
  const Shape shape = shape_of(root, limits.max_depth, depth, root_members);
  if (shape != Shape::kOk || depth > recursion_limit) {
    release(root_members);
    return shape != Shape::kOk ? TextVerdict::kNotJson : TextVerdict::kInvalid;
  }
  const SimdValue document(root,
                           root.type() == simdjson::dom::element_type::OBJECT ? &root_members : nullptr);
  // eval(), keeping the root's first failing step for report().
  const Node& top = program.nodes[program.root];
  std::uint32_t failed = top.begin;
  while (failed < top.end && step(program, program.steps[failed], document)) ++failed;
  const bool valid =
      failed == top.end && (!strict || strict_walk(program, {program.root}, document, nullptr, nullptr));
  if (!valid && refusal != nullptr) {
    // Findings are wanted: made here where report() can, else the document as parse_json() would
    // build it, without a second parse.
    refusal->explained = !strict && recursion_limit == std::numeric_limits<std::size_t>::max() &&
                         explain(program, document, depth, failed, *refusal, refusal->findings);
    if (!refusal->explained) refusal->document.emplace(to_nlohmann(root));
  }
  release(root_members);  // a huge root object's list is not kept
  return valid ? TextVerdict::kValid : TextVerdict::kInvalid;
}

}  // namespace sipcontract::detail::fast
