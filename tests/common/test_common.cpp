// The pieces every module shares (src/common): the random source and UUIDs, base64, the
// Redactor and the thread pool.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sipcontract/base64.hpp"
#include "sipcontract/random.hpp"
#include "sipcontract/redactor.hpp"
#include "sipcontract/thread_pool.hpp"

using namespace sipcontract;

TEST_CASE("new UUIDs are version 4, distinct, and differ between a process and its fork",
          "[common][uuid]") {
  static const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = new_uuid();
    REQUIRE(std::regex_match(id, v4));
    seen.insert(id);
  }
  CHECK(seen.size() == 5000);
  CHECK(random_hex(24).size() == 48);

  // The per-thread pool holds bytes not yet handed out; a child of fork() must not hand out the
  // same ones as its parent.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string id = new_uuid();
    const ssize_t written = ::write(fds[1], id.data(), id.size());
    ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string parent_id = new_uuid();
  char buffer[64] = {};
  const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(n == 36);
  CHECK(std::string(buffer, 36) != parent_id);
  CHECK(std::regex_match(std::string(buffer, 36), v4));
}

TEST_CASE("the UUID check takes 8-4-4-4-12 hex digits in either case, and normalises to lowercase",
          "[common][uuid]") {
  CHECK(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
  CHECK(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
  CHECK(is_uuid("00000000-0000-0000-0000-000000000000"));  // any version, any variant
  CHECK_FALSE(is_uuid(""));
  CHECK_FALSE(is_uuid("123e4567e89b12d3a456426614174000"));
  CHECK_FALSE(is_uuid("123e4567-e89b-12d3-a456-42661417400"));
  CHECK_FALSE(is_uuid("123e4567-e89b-12d3-a456-4266141740000"));
  CHECK_FALSE(is_uuid("123e4567-e89b-12d3-a456_426614174000"));
  CHECK_FALSE(is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
  CHECK_FALSE(is_uuid("{23e4567-e89b-12d3-a456-426614174000}"));
  CHECK(normalize_uuid("123E4567-E89B-12D3-A456-426614174ABC") == "123e4567-e89b-12d3-a456-426614174abc");
  CHECK_FALSE(normalize_uuid("not a uuid").has_value());
  for (int i = 0; i < 100; ++i) CHECK(is_uuid(new_uuid()));
}

TEST_CASE("base64 encodes as RFC 4648 and decodes what it encodes", "[common][base64]") {
  // RFC 4648 section 10's test vectors.
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("\xfb\xff\xfe") == "+//+");
  std::string bytes;
  for (int i = 0; i < 1000; ++i) {
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
    bytes.push_back(static_cast<char>(i * 37 % 256));  // NULs and high bytes included
  }
}

TEST_CASE("base64 decoding is strict about the alphabet and the padding, lenient about its absence",
          "[common][base64]") {
  CHECK(base64_decode("Zm9vYmFy") == "foobar");
  CHECK(base64_decode("Zm9vYg==") == "foob");
  CHECK(base64_decode("Zm9vYg") == "foob");  // padding left out
  CHECK(base64_decode("Zm9vYmE") == "fooba");
  CHECK(base64_decode("") == "");
  for (const char* bad : {"Zm9vY", "Zm9vYg=", "Zm9vYg===", "Zm9vYmE==", "Zm9=vYg=", "Zm 9v", " Zm9v", "Zm9v\n",
                          "Zm9v!", "Zm9v-_", "=", "==", "====", "not*base64"}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
}

TEST_CASE("the redactor masks every secret and its JSON-escaped form", "[common][redact]") {
  Redactor r;
  r.add("s3cr\"et");
  r.add("tok");
  r.add("");
  CHECK(r.redact("a s3cr\"et b") == "a <redacted> b");
  CHECK(r.redact(R"({"p":"s3cr\"et"})") == R"({"p":"<redacted>"})");
  CHECK(r.redact("tok tok") == "<redacted> <redacted>");
  CHECK(r.contains_secret("xx tok"));
  CHECK_FALSE(r.contains_secret("nothing"));
}

TEST_CASE("the redactor masks overlapping secrets whole, so no part of either shows", "[common][redact]") {
  Redactor r;
  r.add("abcdef");
  r.add("defghi");
  r.add("ab");
  r.add("abcd");
  // Overlapping occurrences become one mask; separate ones (even adjacent) one mask each.
  CHECK(r.redact("xxabcdefghixx") == "xx<redacted>xx");
  CHECK(r.redact("abcd ab abc") == "<redacted> <redacted> <redacted>c");
  CHECK(r.redact("abab") == "<redacted><redacted>");
  CHECK(r.redact("at the end: defghi") == "at the end: <redacted>");
  CHECK(r.redact("") == "");
  CHECK(r.redact("nothing here") == "nothing here");
  CHECK(r.contains_secret("..defghi"));
  CHECK_FALSE(r.contains_secret("defgh"));
  CHECK_FALSE(r.contains_secret(""));
  // The same secret added again changes nothing.
  r.add("abcdef");
  CHECK(r.size() == 4);
}

TEST_CASE("the redactor finds each of many secrets wherever it starts", "[common][redact]") {
  Redactor r;
  std::vector<std::string> secrets;
  for (int i = 0; i < 200; ++i)
    secrets.push_back("s" + std::to_string(i * 7919) + "-" + std::string(1, char('a' + i % 26)));
  for (const auto& s : secrets) r.add(s);
  for (const auto& s : secrets) {
    const std::string text = "{\"p\":\"" + s + "\",\"q\":1}";
    CHECK(r.contains_secret(text));
    CHECK(r.redact(text) == "{\"p\":\"<redacted>\",\"q\":1}");
  }
  CHECK_FALSE(r.contains_secret("s-a s7919 -b"));
}

TEST_CASE("the thread pool runs a phase on distinct workers and waits for it", "[common][pool]") {
  ThreadPool pool(4);
  CHECK(pool.size() == 4);
  std::mutex mutex;
  std::multiset<std::size_t> seen;
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  pool.run(10, [&](std::size_t w) {  // capped at the pool's size
    const int now = ++inside;
    for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --inside;
    std::lock_guard lock(mutex);
    seen.insert(w);
  });
  CHECK(seen == std::multiset<std::size_t>{0, 1, 2, 3});
  CHECK(most.load() == 4);  // all four at once: each may hold a resource of its own
  pool.run(0, [](std::size_t) { FAIL("no call for n = 0"); });
  CHECK_THROWS_WITH(pool.run(2, [](std::size_t w) {
                      if (w == 1) throw std::runtime_error("worker 1 failed");
                    }),
                    "worker 1 failed");
  int after = 0;
  pool.run(1, [&](std::size_t) { after = 1; });  // still usable
  CHECK(after == 1);
}

TEST_CASE("the thread pool runs posted tasks in order, runs what is queued at shutdown, and tells "
          "when tasks wait", "[common][pool]") {
  ThreadPool pool(1);
  std::mutex gate;
  std::unique_lock hold(gate);
  std::vector<int> order;
  pool.post([&] { std::lock_guard wait(gate); });  // keeps the only worker until released
  for (int i = 0; i < 100; ++i) pool.post([&order, i] { order.push_back(i); });
  CHECK(pool.busy());  // tasks wait and no worker is idle
  hold.unlock();
  pool.shutdown();
  pool.shutdown();  // idempotent
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[i] = i;
  CHECK(order == expected);
  CHECK_FALSE(pool.busy());
}
