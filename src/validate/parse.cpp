// parse_json: nlohmann's iterative SAX parser driving a DOM builder that enforces
// the size, depth and duplicate-key rules, with errors located by line and column.
//
// Messages never repeat input text: nlohmann's "last read" token can hold part of
// a password, so it is cut out of every parser message.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "internal.hpp"
#include "sipcontract/json_text.hpp"
#include "sipcontract/validate.hpp"

namespace sipcontract {

std::string ParseError::to_string() const {
  if (line == 0) return message;
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
}

namespace {

using Json = nlohmann::json;

// A char iterator that publishes how far the parser has read, so that SAX events
// (which carry no position) can be located.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* position, const char** watch) : position_(position), watch_(watch) {}
  reference operator*() const { return *position_; }
  CountingIterator& operator++() {
    *watch_ = ++position_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return position_ == other.position_; }
  bool operator!=(const CountingIterator& other) const { return position_ != other.position_; }

 private:
  const char* position_;
  const char** watch_;
};

// Line and column (1-based, the column in code points) of byte `offset`.
ParseError located(std::string message, std::string_view text, std::size_t offset) {
  if (offset > text.size()) offset = text.size();
  ParseError error;
  error.message = std::move(message);
  error.byte_offset = offset;
  error.line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++error.line;
      line_start = i + 1;
    }
  }
  error.column = 1 + detail::validation::utf8_length(text.substr(line_start, offset - line_start));
  return error;
}

// Offset of the first byte that is not well-formed UTF-8, or npos. simdjson's validator (SIMD)
// settles the common case, valid text; only invalid text is walked to locate the error.
std::size_t first_invalid_utf8(std::string_view text) {
  if (simdjson::validate_utf8(text.data(), text.size())) return std::string_view::npos;
  for (std::size_t i = 0; i < text.size();) {
    bool well_formed = false;
    const std::size_t n = utf8_character(text, i, &well_formed);
    if (!well_formed) return i;
    i += n;
  }
  return std::string_view::npos;  // not reached: simdjson and utf8_character follow the same RFC 3629
}

// Builds the document from SAX events; refuses nesting past the limit and repeated keys.
class DomBuilder {
 public:
  DomBuilder(Json& root, std::string_view text, const ParseLimits& limits, const char* const* cursor)
      : root_(root),
        text_(text),
        max_depth_(limits.max_depth),
        secret_fields_(limits.secret_fields),
        names_(limits.names),
        cursor_(cursor) {}

  bool null() { return place(Json(nullptr)); }
  bool boolean(bool value) { return place(Json(value)); }
  bool number_integer(std::int64_t value) { return place(Json(value)); }
  bool number_unsigned(std::uint64_t value) { return place(Json(value)); }
  bool number_float(double value, const std::string&) { return place(Json(value)); }
  bool string(std::string& value) { return place(Json(std::move(value))); }
  bool binary(Json::binary_t&) {
    error_ = located("binary values are not JSON", text_, consumed());
    return false;
  }
  bool start_object(std::size_t) { return open(Json::value_t::object); }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return open(Json::value_t::array); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool key(std::string& name) {
    const auto& object = stack_.back()->get_ref<const Json::object_t&>();
    if (object.find(name) != object.end()) {
      // A repeated key is read differently by different parsers (first or last
      // wins), so a body carrying one has no single meaning.
      error_ = located("duplicate key " + shown_name(name), text_, key_start());
      return false;
    }
    key_ = std::move(name);
    return true;
  }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    error_ = located(clean_message(ex, last_token), text_, position == 0 ? 0 : position - 1);
    return false;
  }

  const ParseError& error() const { return error_; }

 private:
  std::size_t consumed() const { return static_cast<std::size_t>(*cursor_ - text_.data()); }

  // A member's name as an error shows it: quoted, or "(hidden)" where it holds a value of the text's
  // secret fields, unless the schema declares it (ParseLimits::names). The values are read from the
  // whole text (the document is not built yet, and the secret may come after the name); where the
  // text cannot be read to its end, a name the schema does not declare is hidden.
  std::string shown_name(const std::string& name) const {
    namespace v = detail::validation;
    if (secret_fields_ == nullptr || secret_fields_->empty()) return v::quote(name);
    bool complete = false;
    const v::FindingsScope scope(
        *secret_fields_,
        [&](v::SecretValues& secrets) { complete = v::collect_secret_values(text_, secrets); }, names_);
    return complete || v::is_declared_name(name) ? v::quote_name(name) : std::string(v::kHiddenText);
  }

  // The opening quote of the key just read (the parser stands after its closing quote).
  std::size_t key_start() const {
    std::size_t close = consumed();
    if (close == 0) return 0;
    --close;
    for (std::size_t j = close; j-- > 0;) {
      if (text_[j] != '"') continue;
      std::size_t backslashes = 0;
      for (std::size_t k = j; k-- > 0 && text_[k] == '\\';) ++backslashes;
      if (backslashes % 2 == 0) return j;
    }
    return close;
  }

  bool open(Json::value_t type) {
    if (stack_.size() >= max_depth_) {
      error_ = located("nesting deeper than " + std::to_string(max_depth_) + " levels", text_,
                       consumed() == 0 ? 0 : consumed() - 1);
      return false;
    }
    Json* value = place_value(Json(type));
    stack_.push_back(value);
    return true;
  }

  bool place(Json&& value) {
    place_value(std::move(value));
    return true;
  }

  Json* place_value(Json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      auto& array = parent.get_ref<Json::array_t&>();
      array.push_back(std::move(value));
      return &array.back();
    }
    auto& object = parent.get_ref<Json::object_t&>();
    return &object.emplace(std::move(key_), std::move(value)).first->second;
  }

  static std::string clean_message(const nlohmann::detail::exception& ex, const std::string& last_token) {
    if (ex.id == 406) return "number out of range";
    std::string message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 7: syntax error while parsing value -
    // ..."
    if (message.rfind("[json.exception.", 0) == 0) {
      if (auto end = message.find("] "); end != std::string::npos) message.erase(0, end + 2);
    }
    if (message.rfind("parse error", 0) == 0) {
      if (auto colon = message.find(": "); colon != std::string::npos) message.erase(0, colon + 2);
    }
    if (message.rfind("syntax error", 0) == 0) {
      if (auto dash = message.find(" - "); dash != std::string::npos) message.erase(0, dash + 3);
    }
    const std::string echo = "; last read: '" + last_token + "'";
    if (auto at = message.find(echo); at != std::string::npos) {
      message.erase(at, echo.size());
    } else if (auto rest = message.find("; last read: "); rest != std::string::npos) {
      message.erase(rest);
    }
    return message;
  }

  Json& root_;
  std::string_view text_;
  std::size_t max_depth_;
  const std::vector<std::string>* secret_fields_;
  const std::vector<std::string>* names_;
  const char* const* cursor_;
  std::vector<Json*> stack_;
  std::string key_;
  ParseError error_;
};

}  // namespace

Parsed parse_json(std::string_view text, const ParseLimits& limits) {
  try {
    if (text.size() > limits.max_bytes) {
      ParseError error;
      error.message = "input is " + std::to_string(text.size()) + " bytes; the limit is " +
                      std::to_string(limits.max_bytes) + " bytes";
      return error;
    }
    if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
      return located("invalid UTF-8 (ill-formed byte sequence)", text, bad);
    }
    Json document;
    const char* cursor = text.data();
    DomBuilder builder(document, text, limits, &cursor);
    const bool ok = Json::sax_parse(CountingIterator(text.data(), &cursor),
                                    CountingIterator(text.data() + text.size(), &cursor), &builder);
    if (!ok) {
      if (!builder.error().message.empty()) return builder.error();
      return located("not a JSON document", text, static_cast<std::size_t>(cursor - text.data()));
    }
    // nlohmann's lexer reads a NUL byte as the end of the input, so "{}\0 anything" would parse
    // as "{}"; JSON text allows no NUL outside a string (the parser refuses one inside).
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
      return located("unexpected NUL byte; expected end of input", text, nul);
    }
    return Parsed(std::move(document));
  } catch (const std::bad_alloc&) {
    ParseError error;
    error.message = "out of memory while parsing";
    return error;
  } catch (const std::exception&) {
    ParseError error;
    error.message = "cannot parse the document";
    return error;
  }
}

}  // namespace sipcontract
