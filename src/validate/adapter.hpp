// A valijson adapter over nlohmann::json that also hands back the json it wraps.
//
// valijson's own NlohmannJsonAdapter keeps its reference private, so a custom
// constraint could only read a value through copies (asString() copies a
// 20 MB string for every check). This adapter is the same thin wrapper with one
// addition, json(), which the compiled checks use to read values in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>

namespace sipcontract::detail::validation {

class JsonAdapter;
class JsonArrayIterator;
class JsonObjectIterator;

using JsonObjectMember = std::pair<std::string, JsonAdapter>;

/// The empty object and array that default-constructed wrappers refer to.
const nlohmann::json& empty_json_object();
const nlohmann::json& empty_json_array();

/// An array value, as valijson iterates it.
class JsonArray {
 public:
  using const_iterator = JsonArrayIterator;
  using iterator = JsonArrayIterator;
  JsonArray() : value_(empty_json_array()) {}
  explicit JsonArray(const nlohmann::json& value) : value_(value) {}
  JsonArrayIterator begin() const;
  JsonArrayIterator end() const;
  std::size_t size() const { return value_.size(); }

 private:
  const nlohmann::json& value_;
};

/// An object value, as valijson iterates and searches it.
class JsonObject {
 public:
  using const_iterator = JsonObjectIterator;
  using iterator = JsonObjectIterator;
  JsonObject() : value_(empty_json_object()) {}
  explicit JsonObject(const nlohmann::json& value) : value_(value) {}
  JsonObjectIterator begin() const;
  JsonObjectIterator end() const;
  JsonObjectIterator find(const std::string& name) const;
  std::size_t size() const { return value_.size(); }

 private:
  const nlohmann::json& value_;
};

/// The value layer BasicAdapter builds its type semantics on.
class JsonValue {
 public:
  JsonValue() : value_(empty_json_object()) {}
  explicit JsonValue(const nlohmann::json& value) : value_(value) {}

  valijson::adapters::FrozenValue* freeze() const {
    return new valijson::adapters::NlohmannJsonFrozenValue(value_);
  }
  std::optional<JsonArray> getArrayOptional() const {
    if (value_.is_array()) return std::make_optional(JsonArray(value_));
    return {};
  }
  bool getArraySize(std::size_t& result) const {
    if (!value_.is_array()) return false;
    result = value_.size();
    return true;
  }
  bool getBool(bool& result) const {
    if (!value_.is_boolean()) return false;
    result = value_.get<bool>();
    return true;
  }
  bool getDouble(double& result) const {
    if (!value_.is_number_float()) return false;
    result = value_.get<double>();
    return true;
  }
  bool getInteger(std::int64_t& result) const {
    if (!value_.is_number_integer()) return false;
    result = value_.get<std::int64_t>();
    return true;
  }
  std::optional<JsonObject> getObjectOptional() const {
    if (value_.is_object()) return std::make_optional(JsonObject(value_));
    return {};
  }
  bool getObjectSize(std::size_t& result) const {
    if (!value_.is_object()) return false;
    result = value_.size();
    return true;
  }
  bool getString(std::string& result) const {
    if (!value_.is_string()) return false;
    result = value_.get_ref<const std::string&>();
    return true;
  }
  static bool hasStrictTypes() { return true; }
  bool isArray() const { return value_.is_array(); }
  bool isBool() const { return value_.is_boolean(); }
  bool isDouble() const { return value_.is_number_float(); }
  bool isInteger() const { return value_.is_number_integer(); }
  bool isNull() const { return value_.is_null(); }
  bool isNumber() const { return value_.is_number(); }
  bool isObject() const { return value_.is_object(); }
  bool isString() const { return value_.is_string(); }

 private:
  const nlohmann::json& value_;
};

/// The adapter the validator runs on; json() is the value it wraps.
class JsonAdapter : public valijson::adapters::BasicAdapter<JsonAdapter, JsonArray, JsonObjectMember,
                                                            JsonObject, JsonValue> {
 public:
  JsonAdapter() : BasicAdapter(), json_(&empty_json_object()) {}
  explicit JsonAdapter(const nlohmann::json& value) : BasicAdapter(JsonValue{value}), json_(&value) {}
  const nlohmann::json& json() const { return *json_; }

 private:
  const nlohmann::json* json_;
};

/// Iterates an array's elements as adapters.
class JsonArrayIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = JsonAdapter;
  using difference_type = std::ptrdiff_t;
  using pointer = JsonAdapter*;
  using reference = JsonAdapter&;

  explicit JsonArrayIterator(nlohmann::json::const_iterator it) : it_(it) {}
  JsonAdapter operator*() const { return JsonAdapter(*it_); }
  valijson::adapters::DerefProxy<JsonAdapter> operator->() const {
    return valijson::adapters::DerefProxy<JsonAdapter>(**this);
  }
  bool operator==(const JsonArrayIterator& other) const { return it_ == other.it_; }
  bool operator!=(const JsonArrayIterator& other) const { return it_ != other.it_; }
  const JsonArrayIterator& operator++() {
    ++it_;
    return *this;
  }
  JsonArrayIterator operator++(int) {
    JsonArrayIterator before(it_);
    ++it_;
    return before;
  }
  const JsonArrayIterator& operator--() {
    --it_;
    return *this;
  }
  void advance(std::ptrdiff_t n) { it_ += n; }

 private:
  nlohmann::json::const_iterator it_;
};

/// Iterates an object's members as (name, adapter) pairs.
class JsonObjectIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = JsonObjectMember;
  using difference_type = std::ptrdiff_t;
  using pointer = JsonObjectMember*;
  using reference = JsonObjectMember&;

  explicit JsonObjectIterator(nlohmann::json::const_iterator it) : it_(it) {}
  JsonObjectMember operator*() const { return JsonObjectMember(it_.key(), JsonAdapter(it_.value())); }
  valijson::adapters::DerefProxy<JsonObjectMember> operator->() const {
    return valijson::adapters::DerefProxy<JsonObjectMember>(**this);
  }
  bool operator==(const JsonObjectIterator& other) const { return it_ == other.it_; }
  bool operator!=(const JsonObjectIterator& other) const { return it_ != other.it_; }
  const JsonObjectIterator& operator++() {
    ++it_;
    return *this;
  }
  JsonObjectIterator operator++(int) {
    JsonObjectIterator before(it_);
    ++it_;
    return before;
  }
  const JsonObjectIterator& operator--() {
    --it_;
    return *this;
  }

 private:
  nlohmann::json::const_iterator it_;
};

inline const nlohmann::json& empty_json_object() {
  static const nlohmann::json object = nlohmann::json::object();
  return object;
}
inline const nlohmann::json& empty_json_array() {
  static const nlohmann::json array = nlohmann::json::array();
  return array;
}
inline JsonArrayIterator JsonArray::begin() const { return JsonArrayIterator(value_.cbegin()); }
inline JsonArrayIterator JsonArray::end() const { return JsonArrayIterator(value_.cend()); }
inline JsonObjectIterator JsonObject::begin() const { return JsonObjectIterator(value_.cbegin()); }
inline JsonObjectIterator JsonObject::end() const { return JsonObjectIterator(value_.cend()); }
inline JsonObjectIterator JsonObject::find(const std::string& name) const {
  return JsonObjectIterator(value_.find(name));
}

}  // namespace sipcontract::detail::validation

namespace valijson::adapters {
/// Lets valijson name the adapter in its own diagnostics.
template <>
struct AdapterTraits<sipcontract::detail::validation::JsonAdapter> {
  using DocumentType = nlohmann::json;
  static std::string adapterName() { return "sipcontract::JsonAdapter"; }
};
}  // namespace valijson::adapters
