// The findings of the built-in contract: exact messages, pointers and keywords.
#include "helpers.hpp"
#include "internal.hpp"

using namespace sipcontract;
using sipcontract::test::describe;
using sipcontract::test::find_finding;
using sipcontract::test::valid_request;
using sipcontract::test::valid_response;

TEST_CASE("an unknown codec names the value and the allowed values", "[validate][enum]") {
  auto body = valid_request();
  body["codecs"] = {"OPUS", "G711"};
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  const Finding& f = result.findings[0];
  CHECK(f.pointer == "/codecs/1");
  CHECK(f.keyword == "enum");
  CHECK(f.message ==
        R"("G711" is not an allowed value; allowed: "OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264")");
  CHECK_FALSE(f.suggestion.has_value());
  CHECK(f.allowed == std::vector<nlohmann::json>{"OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264"});
}

TEST_CASE("the findings of one enum share its list of allowed values, and its JSON", "[validate][enum]") {
  auto body = valid_request();
  body["codecs"] = {"G711", "OPUS", "G712"};
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 2);
  CHECK(result.findings[0].keyword == "enum");
  CHECK(result.findings[1].keyword == "enum");
  const AllowedValues& first = result.findings[0].allowed;
  const AllowedValues& second = result.findings[1].allowed;
  REQUIRE_FALSE(first.empty());
  CHECK(first == second);
  CHECK(&first.values() == &second.values());  // one list, not a copy per finding
  CHECK(first.json() == R"(["OPUS","G722","PCMU","PCMA","G729","VP8","H264"])");
}

TEST_CASE("AllowedValues reads as the vector it was made from", "[validate][enum]") {
  const AllowedValues none;
  CHECK(none.empty());
  CHECK(none.size() == 0);
  CHECK(none.json() == "[]");
  CHECK(none == std::vector<nlohmann::json>{});
  // Any JSON value, and text that is not UTF-8: its JSON is dump()'s, with U+FFFD for the bad byte.
  const std::vector<nlohmann::json> values = {"a\"b", 1, nullptr, nlohmann::json::object({{"k", {true}}}),
                                              std::string("x\xFFy")};
  const AllowedValues list(values);
  CHECK(list.size() == 5);
  CHECK(list[1] == 1);
  CHECK(list.at(2).is_null());
  CHECK(list.front() == "a\"b");
  CHECK_THROWS(list.at(5));
  CHECK(list == values);
  CHECK(values == list);
  CHECK(static_cast<const std::vector<nlohmann::json>&>(list) == values);
  CHECK(list.json() == "[\"a\\\"b\",1,null,{\"k\":[true]},\"x\xEF\xBF\xBDy\"]");
  std::size_t seen = 0;
  for (const auto& value : list) CHECK(value == values[seen++]);
  CHECK(seen == values.size());
  const AllowedValues copy = list;  // shares
  CHECK(&copy.values() == &list.values());
  CHECK_FALSE(list == AllowedValues{1, 2});
}

TEST_CASE("an enum value in the wrong case gets a suggestion", "[validate][enum]") {
  auto body = valid_request();
  body["codecs"] = {"opus"};
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  const Finding& f = result.findings[0];
  CHECK(f.pointer == "/codecs/0");
  CHECK(
      f.message ==
      R"("opus" is not an allowed value; did you mean "OPUS"? allowed: "OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264")");
  REQUIRE(f.suggestion.has_value());
  CHECK(*f.suggestion == "OPUS");
}

TEST_CASE("an enum value one edit away gets a suggestion only when it is unambiguous", "[validate][enum]") {
  auto body = valid_request();
  body["call_handler"] = "block_pstn";
  body["encryption"] = "requried";
  body["ciphers"] = {"AES_256_CM_HMAC_SHA1_8"};
  body["codecs"] = {"PCMX"};
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  const Finding* handler = find_finding(result, "/call_handler", "enum");
  REQUIRE(handler);
  CHECK(handler->suggestion == nlohmann::json("block-pstn"));
  const Finding* encryption = find_finding(result, "/encryption", "enum");
  REQUIRE(encryption);
  CHECK(encryption->suggestion == nlohmann::json("required"));
  const Finding* cipher = find_finding(result, "/ciphers/0", "enum");
  REQUIRE(cipher);
  CHECK(cipher->suggestion == nlohmann::json("AES_256_CM_HMAC_SHA1_80"));
  const Finding* codec = find_finding(result, "/codecs/0", "enum");
  REQUIRE(codec);
  CHECK_FALSE(codec->suggestion.has_value());  // PCMU and PCMA are equally close
}

TEST_CASE("oneOf accepts a body with neither handler field or with either one", "[validate][oneOf]") {
  const Contract& contract = Contract::builtin();
  auto neither = valid_request();
  CHECK(contract.validate_request(neither).valid());
  auto handler = valid_request();
  handler["call_handler"] = "passthrough";
  CHECK(contract.validate_request(handler).valid());
  auto resource = valid_request();
  resource["calling_handler_resource_id"] = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
  CHECK(contract.validate_request(resource).valid());
  CHECK(contract.request_schema().is_valid(neither));
  CHECK(contract.request_schema().is_valid(handler));
  CHECK(contract.request_schema().is_valid(resource));
}

TEST_CASE("oneOf names the two fields that exclude each other", "[validate][oneOf]") {
  auto body = valid_request();
  body["call_handler"] = "default";
  body["calling_handler_resource_id"] = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].keyword == "oneOf");
  CHECK(result.findings[0].message ==
        "call_handler and calling_handler_resource_id are both set; set at most one of them "
        "(variants \"with call handler\" and \"with resource ID\")");
  CHECK(to_string(result.findings[0]) ==
        "(root): call_handler and calling_handler_resource_id are both set; set at most one of them "
        "(variants \"with call handler\" and \"with resource ID\") [oneOf]");
  CHECK_FALSE(Contract::builtin().request_schema().is_valid(body));
}

TEST_CASE("a password confirmation that differs is reported without either value", "[validate][secret]") {
  auto body = valid_request();
  body["password_confirmation"] = "hack-me-if-you-cant";
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  const Finding& f = result.findings[0];
  CHECK(f.pointer == "/password_confirmation");
  CHECK(f.keyword == "equal");
  CHECK(f.message == "must equal /password");
  CHECK(to_json(f).dump().find("hack-me") == std::string::npos);
}

TEST_CASE("equal-properties applies only when both members are present", "[validate][secret]") {
  auto body = valid_request();
  body.erase("password_confirmation");
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "required");
  CHECK(result.findings[0].property == "password_confirmation");
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].message == "missing required property \"password_confirmation\"");
}

TEST_CASE("a response id that is not a UUID fails format through the cross-file $ref",
          "[validate][format][ref]") {
  auto body = valid_response();
  body["id"] = "abc";
  const Result result = Contract::builtin().validate_response(201, body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "/id");
  CHECK(result.findings[0].keyword == "format");
  CHECK(result.findings[0].message == "\"abc\" is not a valid uuid");
  CHECK(Contract::builtin().validate_response(201, valid_response()).valid());
}

TEST_CASE("a value of the wrong type says what was expected", "[validate][type]") {
  auto body = valid_request();
  body["username"] = 42;
  body["codecs"] = "OPUS";
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 2);
  CHECK(result.findings[0].pointer == "/codecs");
  CHECK(result.findings[0].message == "expected array, got string");
  CHECK(result.findings[1].pointer == "/username");
  CHECK(result.findings[1].keyword == "type");
  CHECK(result.findings[1].message == "expected string, got number");
}

TEST_CASE("a 201 carrying the password fails not and names the field", "[validate][not][secret]") {
  auto body = valid_response();
  body["password"] = "hack-me-if-you-can";
  const Result result = Contract::builtin().validate_response(201, body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].keyword == "not");
  CHECK(result.findings[0].message == "must not have property \"password\"");
  CHECK(result.findings[0].property == "password");
  CHECK(to_json(result.findings[0]).dump().find("hack-me") == std::string::npos);
}

TEST_CASE("findings never carry valijson's per-level summaries", "[validate][findings]") {
  auto body = valid_request();
  body["codecs"] = {"OPUS", "G711", 7};
  body["ciphers"] = {"x"};
  const Result result = Contract::builtin().validate_request(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 3);
  for (const auto& f : result.findings) CHECK(f.message.rfind("Failed to", 0) == std::string::npos);
  CHECK(result.findings[0].pointer == "/ciphers/0");
  CHECK(result.findings[1].pointer == "/codecs/1");
  CHECK(result.findings[2].pointer == "/codecs/2");
  CHECK(result.findings[2].keyword == "type");  // one finding: not also "not an allowed value"
}

TEST_CASE("an undocumented status gives one status finding", "[validate][contract]") {
  const Result result = Contract::builtin().validate_response(418, nlohmann::json::object());
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "status");
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].message ==
        "status 418 is not documented for createSubscriberSipEndpoint; documented: 201, 401, 404, 422, 500");
}

TEST_CASE("to_string and to_json render a finding", "[validate][findings]") {
  Finding f{"/codecs/0", "enum", "\"opus\" is not an allowed value", "", {"OPUS"}, nlohmann::json("OPUS")};
  CHECK(to_string(f) == "/codecs/0: \"opus\" is not an allowed value [enum]");
  CHECK(to_json(f) == nlohmann::json{{"pointer", "/codecs/0"},
                                     {"keyword", "enum"},
                                     {"message", "\"opus\" is not an allowed value"},
                                     {"allowed", {"OPUS"}},
                                     {"suggestion", "OPUS"}});
  Finding required{"", "required", "missing required property \"username\"", "username", {}, std::nullopt};
  CHECK(to_string(required) == "(root): missing required property \"username\" [required]");
  CHECK(to_json(required) == nlohmann::json{{"pointer", ""},
                                            {"keyword", "required"},
                                            {"message", "missing required property \"username\""},
                                            {"property", "username"}});
}

TEST_CASE("pointers escape ~ and /, and the secret fields come from the contract", "[validate][findings]") {
  CHECK(pointer_escape("a/b~c") == "a~1b~0c");
  CHECK(pointer_escape("") == "");
  const Contract& contract = Contract::builtin();
  CHECK(contract.is_secret_field("password"));
  CHECK(contract.is_secret_field("password_confirmation"));
  CHECK_FALSE(contract.is_secret_field("username"));
  // A schema knows the secret fields it is given, compared without case.
  const auto body = sipcontract::test::doc(R"({"Password": "seven-value", "pin": "eight-value"})");
  const Schema plain = sipcontract::test::schema_of(
      R"({"properties": {"Password": {"enum": ["x"]}, "pin": {"enum": ["x"]}}})");
  const Result shown = plain.validate(body);
  const Result hidden = plain.with_secret_fields({"password", "pin"}).validate(body);
  CHECK(sipcontract::test::describe(shown).find("seven-value") != std::string::npos);
  CHECK(sipcontract::test::describe(hidden).find("seven-value") == std::string::npos);
  CHECK(sipcontract::test::describe(hidden).find("eight-value") == std::string::npos);
  CHECK(contract.request_schema().secret_fields() == contract.secret_fields());
}

TEST_CASE("a secret value placed in another field is never shown", "[validate][secret]") {
  const std::string secret = "Sup3r-Secret-Value";
  auto body = valid_request();
  body["password"] = secret;
  body["password_confirmation"] = secret;
  body["codecs"] = {"OPUS", secret, "x" + secret + "y"};
  body["ciphers"] = {secret};
  body["encryption"] = secret;
  body[secret] = 1;  // a secret as a member name
  for (const bool strict : {false, true}) {
    const Schema schema = Contract::builtin().request_schema().strict(strict);
    const Result result = schema.validate(body);
    INFO(describe(result));
    CHECK(result.findings.size() == (strict ? 5u : 4u));
    for (const auto& f : result.findings) {
      CHECK(to_json(f).dump().find("Sup3r") == std::string::npos);
      CHECK(to_string(f).find("Sup3r") == std::string::npos);
    }
    const Finding* codec = find_finding(result, "/codecs/1", "enum");
    REQUIRE(codec);
    CHECK(codec->message.rfind("(hidden) is not an allowed value", 0) == 0);
    CHECK_FALSE(codec->suggestion.has_value());
  }
  // A short secret is hidden where a value equals it, not inside every longer string.
  auto other = valid_request();
  other["password"] = other["password_confirmation"] = "ab";
  other["codecs"] = {"ab", "abc"};
  const Result result = Contract::builtin().validate_request(other);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 2);
  CHECK(result.findings[0].message.rfind("(hidden)", 0) == 0);
  CHECK(result.findings[1].message.rfind("\"abc\"", 0) == 0);
}

TEST_CASE("secret values are cut out longest first and once each, whatever order the document held them in",
          "[validate][secret]") {
  namespace v = sipcontract::detail::validation;
  const auto listed = [](const v::SecretValues& values) {
    return std::vector<std::string>(values.begin(), values.end());
  };
  v::SecretValues values;
  for (const char* value : {"abcd", "xx-abcd-yy", "zz", "abce", "xx-abcd-yy"}) values.add(value);
  values.order();
  CHECK(listed(values) == std::vector<std::string>{"xx-abcd-yy", "abcd", "abce", "zz"});
  CHECK(values.shortest() == 2);
  // Two values (a password and its confirmation), the same or not, in either order.
  for (const auto& [a, b] :
       {std::pair{"pw", "pw"}, std::pair{"pw", "longer-pw"}, std::pair{"longer-pw", "pw"}}) {
    values.clear();
    values.add(a);
    values.add(b);
    values.order();
    CHECK(listed(values) == (std::string(a) == b ? std::vector<std::string>{"pw"}
                                                 : std::vector<std::string>{"longer-pw", "pw"}));
    CHECK(values.shortest() == 2);
  }
  values.clear();
  CHECK(values.shortest() == SIZE_MAX);
  // Reused: a cleared list holds only what is added after; a copy it keeps is the value.
  values.clear();
  values.add("q");
  CHECK(listed(values) == std::vector<std::string>{"q"});
  {
    std::string temporary(5000, 'p');
    values.add_copy(temporary);
    temporary.assign(5000, 'x');
  }
  values.add_copy("12.5");
  values.order();
  CHECK(listed(values) == std::vector<std::string>{std::string(5000, 'p'), "12.5", "q"});
  values.clear();
  values.add("r");
  CHECK(listed(values) == std::vector<std::string>{"r"});

  // A secret inside the other, in either field: both paths give the same findings, without either.
  for (const bool inner_first : {false, true}) {
    const std::string inner = "Inner-Secret", outer = "xx-Inner-Secret-yy";
    auto body = valid_request();
    body["password"] = inner_first ? outer : inner;
    body["password_confirmation"] = inner_first ? inner : outer;
    body["codecs"] = {"OPUS", outer, "zz-" + outer + "-zz"};
    const Schema& schema = Contract::builtin().request_schema();
    const Result slow = schema.validate(body);
    const TextResult fast = schema.validate_text(body.dump());
    INFO(describe(slow));
    CHECK(fast.result.findings == slow.findings);
    REQUIRE(slow.findings.size() == 3);  // the two codecs and the unequal pair
    for (const auto& f : slow.findings) CHECK(to_json(f).dump().find("Inner") == std::string::npos);
  }
}

TEST_CASE("a secret is hidden in the document's text, and the schema's and the wording stay as they are",
          "[validate][secret]") {
  // Cutting a secret out of the schema's text or the program's wording would say what it is: a
  // password "G722" in place of an allowed codec, "default" of an allowed handler, "password" in
  // "must equal /password" (found by an independent leak hunt). Both paths, the same findings.
  const auto findings = [](const nlohmann::json& body) {
    const Schema& schema = Contract::builtin().request_schema();
    const Result slow = schema.validate(body);
    const TextResult fast = schema.validate_text(body.dump());
    INFO(describe(slow));
    CHECK(fast.result.findings == slow.findings);
    return slow;
  };
  auto codec = valid_request();
  codec["password"] = codec["password_confirmation"] = "G722";
  codec["codecs"] = {"G711", "G722", "xG722"};
  const Result codecs = findings(codec);
  REQUIRE(codecs.findings.size() == 2);
  CHECK(codecs.findings[0].message ==
        R"("G711" is not an allowed value; allowed: "OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264")");
  CHECK(codecs.findings[1].message.rfind("(hidden) is not an allowed value; allowed: \"OPUS\", \"G722\"",
                                         0) == 0);

  auto handler = valid_request();
  handler["password"] = "default";
  handler["password_confirmation"] = "password";
  handler["call_handler"] = "defaults";
  const Result handlers = findings(handler);
  REQUIRE(handlers.findings.size() == 2);
  CHECK(handlers.findings[0].message.rfind("(hidden) is not an allowed value; allowed: ", 0) == 0);
  CHECK(handlers.findings[0].message.find(R"(allowed: "default", "passthrough", "block-pstn")") !=
        std::string::npos);
  CHECK_FALSE(handlers.findings[0].suggestion.has_value());  // none for a hidden value
  CHECK(handlers.findings[1].message == "must equal /password");

  auto missing = valid_request();
  missing.erase("username");
  missing["password"] = missing["password_confirmation"] = "username";
  const Result required = findings(missing);
  REQUIRE(required.findings.size() == 1);
  CHECK(required.findings[0].message == R"(missing required property "username")");
  CHECK(required.findings[0].property == "username");
}

TEST_CASE(
    "the schema's names, consts and suggestions are shown whatever the secret, and the document's text is "
    "not",
    "[validate][secret]") {
  // Found by a second, independent leak hunt and a review: each of these put "(hidden)" over text the
  // reader knows, or showed a secret spread over several parts of the document's text.
  const auto both = [](const Schema& schema, const nlohmann::json& body) {
    const Result slow = schema.validate(body);
    const TextResult fast = schema.validate_text(body.dump());
    INFO(describe(slow));
    CHECK(fast.result.findings == slow.findings);
    return slow;
  };
  const std::vector<std::string> fields = {"password"};
  // A const of the schema, a string or a number.
  const Schema consts = test::schema_of(R"({"properties": {"c": {"const": "gamma"}, "n": {"const": 1234}}})")
                            .with_secret_fields(fields);
  const Result c = both(consts, {{"password", "gamma"}, {"c", "gamm"}});
  REQUIRE(c.findings.size() == 1);
  CHECK(c.findings[0].message == R"(expected "gamma", got "gamm")");
  const Result n = both(consts, {{"password", 1234}, {"n", 5}});
  REQUIRE(n.findings.size() == 1);
  CHECK(n.findings[0].message == "expected 1234, got 5");

  // A declared name as a pointer token, a property or a strict suggestion.
  auto handler = valid_request();
  handler["password"] = handler["password_confirmation"] = "call_handler";
  handler["call_handler"] = "nope";
  const Result declared = both(Contract::builtin().request_schema(), handler);
  REQUIRE(declared.findings.size() == 1);
  CHECK(declared.findings[0].pointer == "/call_handler");
  auto weak = valid_request();
  weak["password"] = "password";
  weak["password_confirmation"] = "Password";
  const Result unequal = both(Contract::builtin().request_schema(), weak);
  REQUIRE(unequal.findings.size() == 1);
  CHECK(unequal.findings[0].pointer == "/password_confirmation");
  auto sloppy = valid_request();
  sloppy["password"] = sloppy["password_confirmation"] = "codecs";
  sloppy["codec"] = {"OPUS"};
  const Result strict = Contract::builtin().request_schema().strict(true).validate(sloppy);
  REQUIRE(strict.findings.size() == 1);
  CHECK(strict.findings[0].message ==
        R"(property "codec" is not declared by the schema (strict mode); did you mean "codecs"?)");

  // A secret spread over the items of a small array, or over two member names of a pointer.
  const Schema list =
      test::schema_of(R"({"properties": {"a": {"const": [1, 2, 3, 4]}}})").with_secret_fields(fields);
  const Result items = both(list, {{"password", "1,2,3,5"}, {"a", {1, 2, 3, 5}}});
  REQUIRE(items.findings.size() == 1);
  CHECK(items.findings[0].message == "expected [1,2,3,4], got an array of 4 items");
  const Schema typed =
      test::schema_of(R"({"additionalProperties": {"additionalProperties": {"type": "integer"}}})")
          .with_secret_fields(fields);
  const Result across = both(typed, {{"password", "abcd/efgh"}, {"abcd", {{"efgh", "s"}}}});
  bool found = false;
  for (const auto& f : across.findings) {
    CHECK(f.pointer.find("abcd") == std::string::npos);
    found = found || f.pointer == "/(hidden)/(hidden)";
  }
  CHECK(found);

  // Where a hidden name sorts says nothing: the findings are ordered as if it read "(hidden)".
  const Schema members =
      test::schema_of(R"({"properties": {"password": {}}, "additionalProperties": {"type": "integer"}})")
          .with_secret_fields(fields);
  std::vector<std::string> orders;
  for (const char* secret : {"apple123", "melon123", "zebra123"}) {
    const Result r =
        both(members,
             {{"password", secret}, {"b", "s"}, {"m", "s"}, {"y", "s"}, {std::string(secret) + "x", "s"}});
    std::string order;
    for (const auto& f : r.findings) order += f.pointer + " ";
    orders.push_back(order);
  }
  CHECK(orders[0] == "/(hidden) /b /m /y ");
  CHECK(orders[1] == orders[0]);
  CHECK(orders[2] == orders[0]);
}

TEST_CASE("the last net cuts overlapping secrets out as one, and none reads across the marker",
          "[validate][secret]") {
  namespace v = sipcontract::detail::validation;
  const std::vector<std::string> fields = {"password", "password_confirmation"};
  const auto hidden = [&](std::vector<std::string> secrets, std::string message) {
    const v::FindingsScope scope(fields, [&](v::SecretValues& values) {
      for (const auto& secret : secrets) values.add_copy(secret);
    });
    v::hide_secrets(message);
    return message;
  };
  // Two secrets that overlap: the stretch they cover goes as one "(hidden)", with no part of the
  // second left beside the marker put for the first; touching ones likewise.
  CHECK(hidden({"abcdefgh", "efghijkl"}, "x abcdefghijkl y") == "x (hidden) y");
  CHECK(hidden({"abcd", "efgh"}, "abcdefgh") == "(hidden)");
  CHECK(hidden({"abcd"}, "abcd and abcd") == "(hidden) and (hidden)");
  CHECK(hidden({"aaaa"}, "aaaaaa") == "(hidden)");
  CHECK(hidden({"abc"}, "abc") == "abc");  // shorter secrets are hidden only where a value equals them
  // A secret made of the marker's characters and the message's own ("n) not an") that cutting out
  // another ("n) is") would bring together: the message is the marker alone.
  CHECK(hidden({"n) not an", "n) is"}, "(hidden) is not an allowed value") == "(hidden)");
  // A secret inside the marker itself ("hidden") is in every marker, and says nothing there.
  CHECK(hidden({"hidden"}, "a hidden value") == "a (hidden) value");
}

TEST_CASE(
    "a secret is hidden where a repeated key, a whole number, an escaped name or a suggestion would show it",
    "[validate][secret]") {
  const Schema& request = Contract::builtin().request_schema();
  // A repeated member name that is the password (before or after it): parse_json reads the text's
  // secret fields for the error that names the key.
  for (const std::string text :
       {R"({"password":"Zq9XwQ","password_confirmation":"Zq9XwQ","Zq9XwQ":1,"Zq9XwQ":2})",
        R"({"Zq9XwQ":1,"Zq9XwQ":2,"password":"Zq9XwQ"})",
        R"({"a":{"Zq9XwQ":1,"Zq9XwQ":2},"pw":{"Password":["Zq9XwQ"]}})"}) {
    const TextResult result = request.validate_text(text);
    INFO(text);
    CHECK(result.verdict == Verdict::kNotJson);
    CHECK(result.error.message == "duplicate key (hidden)");
  }
  // Unread past the repeated key (the text breaks after it): the name is hidden, whatever it is.
  CHECK(request.validate_text(R"({"zq9x":1,"zq9x":2,)").error.message == "duplicate key (hidden)");
  // A name the schema declares is its text, shown whatever the secrets: "(hidden)" in its place would
  // say the password is part of it.
  CHECK(request.validate_text(R"({"codecs":1,"codecs":2,)").error.message == R"(duplicate key "codecs")");
  CHECK(request.validate_text(R"({"password":"password","password":"x"})").error.message ==
        R"(duplicate key "password")");
  // No secret field holds the name, or none is known: it is shown.
  CHECK(request.validate_text(R"({"password":"Zq9XwQ","codecs":1,"codecs":2})").error.message ==
        R"(duplicate key "codecs")");
  CHECK(parse_json(R"({"Zq9XwQ":1,"Zq9XwQ":2,"password":"Zq9XwQ"})").error().message ==
        R"(duplicate key "Zq9XwQ")");

  // A number in a secret field is hidden as an integer too where it is whole (1e3 is 1000).
  const Schema most =
      test::schema_of(R"({"properties": {"n": {"maximum": 5}}})").with_secret_fields({"password"});
  for (const char* text : {R"({"password":1e3,"n":1000})", R"({"password":1000,"n":1000.0})",
                           R"({"password":12345.0,"n":12345})"}) {
    const TextResult result = most.validate_text(text);
    INFO(text);
    REQUIRE(result.result.findings.size() == 1);
    CHECK(result.result.findings[0].message == "must be <= 5, got (hidden)");
    const Result slow = most.validate(nlohmann::json::parse(text));
    CHECK(slow.findings == result.result.findings);
  }

  // A member name whose escaped form in the pointer holds the secret ("Zq9/XwQ" is written "Zq9~1XwQ").
  const Schema typed =
      test::schema_of(R"({"additionalProperties": {"type": "integer"}})").with_secret_fields({"password"});
  for (const char* text :
       {R"({"password":"Zq9~1XwQ","xZq9/XwQ":"s"})", R"({"password":"Zq9~0XwQ","Zq9~XwQ":"s"})"}) {
    const TextResult result = typed.validate_text(text);
    INFO(text);
    REQUIRE(result.result.findings.size() == 2);  // the member, and the password itself
    const auto& f = result.result.findings;
    CHECK(std::count_if(f.begin(), f.end(), [](const Finding& x) { return x.pointer == "/(hidden)"; }) == 1);
    for (const auto& x : f) CHECK(to_json(x).dump().find("Zq9") == std::string::npos);
  }
  // An index is shown, whatever the secret: it says where an item sits, not what the document holds.
  auto body = valid_request();
  body["password"] = body["password_confirmation"] = "1234";
  body["codecs"] = nlohmann::json::array();
  for (int i = 0; i <= 1234; ++i) body["codecs"].push_back(i == 1234 ? "G711" : "OPUS");
  const Result indexed = Contract::builtin().validate_request(body);
  REQUIRE(indexed.findings.size() == 1);
  CHECK(indexed.findings[0].pointer == "/codecs/1234");

  // A hidden member name gets no "did you mean": the name it is closest to would describe it.
  auto sloppy = valid_request();
  sloppy["password"] = sloppy["password_confirmation"] = "usernam3";
  sloppy["usernam3"] = "x";
  const Result strict = Contract::builtin().request_schema().strict(true).validate(sloppy);
  REQUIRE(strict.findings.size() == 1);
  CHECK(strict.findings[0].message == "property (hidden) is not declared by the schema (strict mode)");
  CHECK(strict.findings[0].property == "(hidden)");
  CHECK_FALSE(strict.findings[0].suggestion.has_value());
}

TEST_CASE("a secret held by both fields, a string or a number, is hidden alike on both paths",
          "[validate][secret]") {
  const Schema schema = test::schema_of(R"({"required": ["hidden"], "properties": {
    "password": {"type": "string"}, "password_confirmation": {"type": "string"},
    "codes": {"items": {"enum": ["x"]}}}})")
                            .with_secret_fields({"password", "password_confirmation"});
  // The value once or twice: the same messages (a secret inside the "(hidden)" put in its place is
  // cut out once, as for a value held once).
  const auto messages = [&](const nlohmann::json& body) {
    const Result slow = schema.validate(body);
    const TextResult fast = schema.validate_text(body.dump());
    INFO(describe(slow));
    CHECK(fast.result.findings == slow.findings);
    std::vector<std::string> out;
    for (const auto& f : slow.findings) out.push_back(to_string(f));
    return out;
  };
  const auto twice = messages({{"password", "hidden"}, {"password_confirmation", "hidden"}});
  const auto once = messages({{"password", "hidden"}, {"password_confirmation", "other"}});
  CHECK(twice == once);
  REQUIRE(!twice.empty());
  CHECK(twice[0].find("missing required property") != std::string::npos);
  // A number in both fields (its text is copied, not viewed), also where another field holds it.
  for (const nlohmann::json& secret : {nlohmann::json(12345678), nlohmann::json(1234.5)}) {
    const auto shown = messages({{"password", secret},
                                 {"password_confirmation", secret},
                                 {"hidden", true},
                                 {"codes", {secret.dump(), secret, "x"}}});
    CHECK(shown.size() == 4);  // two wrong types, two codes not allowed
    for (const auto& m : shown) CHECK(m.find(secret.dump()) == std::string::npos);
  }
}

TEST_CASE("no finding names an internal keyword", "[validate][findings]") {
  auto body = valid_request();
  body["password_confirmation"] = "other";
  const Result result = Contract::builtin().validate_request(body);
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "equal");
  CHECK(to_string(result.findings[0]).find("x-sipcontract") == std::string::npos);
}
