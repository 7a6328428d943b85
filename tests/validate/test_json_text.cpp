// sipcontract::append_json_string, the one JSON string writer the server, the runner and the
// validator's messages share.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "sipcontract/json_text.hpp"

using sipcontract::append_json_string;
using sipcontract::JsonEscape;

namespace {
std::string written(std::string_view text, JsonEscape escape = JsonEscape::kJson) {
  std::string out;
  append_json_string(out, text, escape);
  return out;
}
}  // namespace

TEST_CASE("append_json_string writes valid UTF-8 exactly as nlohmann's dump() does", "[json_text]") {
  // Every byte from 0x00 to 0x7f, the short escapes among them, and 2- to 4-byte sequences
  // including U+2028, which JSON allows raw.
  std::string text;
  for (int c = 0; c < 0x80; ++c) text.push_back(static_cast<char>(c));
  text += "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8";
  CHECK(written(text) == nlohmann::json(text).dump());
  CHECK(written("") == "\"\"");
  std::string appended = "x:";
  append_json_string(appended, "y");
  CHECK(appended == "x:\"y\"");
}

TEST_CASE("append_json_string replaces each byte that starts no well-formed sequence with U+FFFD",
          "[json_text]") {
  const std::string replacement = "\xef\xbf\xbd";
  CHECK(written(std::string("a\xff", 2)) == "\"a" + replacement + "\"");
  CHECK(written("\xc3") == "\"" + replacement + "\"");                    // truncated 2-byte
  CHECK(written("\xc0\xaf") == "\"" + replacement + replacement + "\"");  // overlong '/'
  CHECK(written("\xed\xa0\x80") == "\"" + replacement + replacement + replacement + "\"");  // surrogate
  CHECK(written("\xf4\x90\x80\x80") ==
        "\"" + replacement + replacement + replacement + replacement + "\"");  // past U+10FFFF
  // Whatever the input, the output parses and is what nlohmann writes after replacing.
  const std::string messy = "\x80 ok \xe2\x82 \xf0\x9f\x98\x80";
  CHECK(nlohmann::json::parse(written(messy)) ==
        nlohmann::json::parse(
            nlohmann::json(messy).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

TEST_CASE("kDisplay also escapes DEL, which a terminal does not show", "[json_text]") {
  CHECK(written("a\x7f") == "\"a\x7f\"");
  CHECK(written("a\x7f", JsonEscape::kDisplay) == "\"a\\u007f\"");
  CHECK(nlohmann::json::parse(written("a\x7f", JsonEscape::kDisplay)) == "a\x7f");
}

TEST_CASE("utf8_character takes a well-formed sequence or the maximal ill-formed subpart", "[json_text]") {
  const auto character = [](std::string_view text) {
    bool well_formed = false;
    const std::size_t n = sipcontract::utf8_character(text, 0, &well_formed);
    return std::pair{n, well_formed};
  };
  CHECK(character("a") == std::pair{std::size_t{1}, true});
  CHECK(character("\xc3\xa9") == std::pair{std::size_t{2}, true});
  CHECK(character("\xe2\x82\xac") == std::pair{std::size_t{3}, true});
  CHECK(character("\xf0\x9f\x98\x80") == std::pair{std::size_t{4}, true});
  CHECK(character("\xe2\x82 ") == std::pair{std::size_t{2}, false});         // cut short: one subpart
  CHECK(character("\xe0\x80\x80") == std::pair{std::size_t{1}, false});      // overlong
  CHECK(character("\xed\xbf\xbf") == std::pair{std::size_t{1}, false});      // surrogate
  CHECK(character("\xf4\x90\x80\x80") == std::pair{std::size_t{1}, false});  // past U+10FFFF
  CHECK(character("\xc3") == std::pair{std::size_t{1}, false});              // at the end
  CHECK(character("\x80") == std::pair{std::size_t{1}, false});              // a continuation byte
  CHECK(character("\xff") == std::pair{std::size_t{1}, false});
}

TEST_CASE("append_json_string escapes each byte wherever it sits, and texts longer than its block",
          "[json_text]") {
  // Each byte near the thresholds, at every position of texts of 0 to 70 bytes (across the 8- and
  // 16-byte steps and the short texts' limit, 62 bytes), in both modes, appended to a string that
  // already holds text, gives what nlohmann writes.
  const std::string specials[] = {"\x1f",
                                  "\x20",
                                  "\x21",
                                  "\"",
                                  "#",
                                  "[",
                                  "\\",
                                  "]",
                                  "~",
                                  "\x7f",
                                  "\xc3\xa9",
                                  "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80",
                                  "\x01",
                                  "\n"};
  for (std::size_t length = 0; length <= 70; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const auto& special : specials) {
        std::string text(length, 'a');
        text.insert(at, special);
        const std::string expected = nlohmann::json(text).dump();
        INFO("length " << length << ", at " << at << ", byte " << static_cast<int>(special[0] & 0xff));
        std::string appended = "prefix";
        append_json_string(appended, text);
        CHECK(appended == "prefix" + expected);
        std::string display = expected;
        if (const auto del = display.find('\x7f'); del != std::string::npos)
          display.replace(del, 1, "\\u007f");
        CHECK(written(text, JsonEscape::kDisplay) == display);
      }
    }
  }
  // Longer than a block (4,096 bytes), with characters across its ends, escapes throughout and
  // ill-formed bytes: the same as nlohmann's replacing dump.
  std::string text;
  for (int i = 0; i < 3000; ++i)
    text += i % 7 == 0 ? "\xe2\x82\xac" : i % 11 == 0 ? "\x01\"" : i % 13 == 0 ? "\xff" : "ab";
  CHECK(written(text) == nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  // Runs that need no escaping, short and longer than a block, with an escape at each of their
  // ends.
  for (const std::size_t run : {61, 62, 63, 254, 255, 256, 257, 600, 4095, 4096, 4097, 5000}) {
    INFO("run " << run);
    const std::string runs = std::string(run, 'a') + "\"" + std::string(run, 'b') + "\x01" +
                             std::string(run + 1, 'c') + "\xe2\x82\xac" + std::string(run, 'd');
    CHECK(written(runs) == nlohmann::json(runs).dump());
    std::string appended = "prefix";
    append_json_string(appended, runs);
    CHECK(appended == "prefix" + nlohmann::json(runs).dump());
  }
  // The worst case (every byte a 6-byte escape) past a block, a clean start longer than a block
  // before an escape, and sequences (whole, cut short, ill-formed) starting on a block's last bytes.
  const auto dumped = [](const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  CHECK(written(std::string(9000, '\x01')) == dumped(std::string(9000, '\x01')));
  std::string deletes = written(std::string(5000, '\x7f'), JsonEscape::kDisplay);
  CHECK(deletes.size() == 2 + 6 * 5000);
  CHECK(written(std::string(5000, 'a') + "\"") == dumped(std::string(5000, 'a') + "\""));
  for (const std::string sequence :
       {"\xf0\x9f\x98\x80", "\xf0\x9f\x98", "\xe2\x82", "\xc3", "\xed\xa0\x80"}) {
    for (std::size_t at = 4092; at <= 4097; ++at) {
      const std::string text = std::string(at, 'a') + sequence + "\"z";
      INFO("at " << at << ", " << sequence.size() << " bytes");
      CHECK(written(text) == dumped(text));
    }
  }
}
