// sipcontract-bench-bare-server: the anchor of the server benchmark. A bare cpp-httplib server that
// answers every create with a fixed 201 body and does nothing else: no auth, no parsing, no
// validation, no state. `sipcontract serve` has a transport of its own (src/server/connection.cpp),
// so the ratio of the two is what a user gets from it against the plainest server a widely used
// C++ HTTP library makes.
//
//   sipcontract-bench-bare-server --port 0 --threads 8 --keep-alive-max-count 5 --keep-alive-timeout 5
//
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections; stops on SIGINT or SIGTERM.
// run.sh starts it with the thread count and keep-alive settings `sipcontract serve` uses.
#include <httplib.h>
#include <pthread.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <iostream>
#include <string>
#include <thread>

namespace {

// The size and shape of a real 201 (a SipEndpoint), so both servers write comparable bodies.
constexpr const char* kCreatedBody =
    R"({"id":"7f4c1e2a-3b5d-4c6e-8f9a-0b1c2d3e4f5a","username":"justice-league","caller_id":"call-id-123",)"
    R"("send_as":"+14632322867","ciphers":["AEAD_AES_256_GCM_8"],"codecs":["OPUS","PCMU"],)"
    R"("encryption":"optional","call_handler":"default","calling_handler_resource_id":"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b"})";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A bare cpp-httplib endpoint answering every create with a fixed 201 (benchmark ceiling)",
               "sipcontract-bench-bare-server"};
  int port = 0;
  std::size_t threads = 0;
  std::size_t keep_alive_max_count = CPPHTTPLIB_KEEPALIVE_MAX_COUNT;
  long keep_alive_timeout = CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND;
  std::size_t payload_max_length = 1u << 20;
  bool tcp_nodelay = false;
  app.add_option("--port", port, "TCP port on 127.0.0.1; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--threads", threads, "worker threads; 0 = cpp-httplib's default pool")
      ->capture_default_str();
  app.add_option("--keep-alive-max-count", keep_alive_max_count, "requests per connection")
      ->capture_default_str();
  app.add_option("--keep-alive-timeout", keep_alive_timeout, "idle seconds before a connection closes")
      ->capture_default_str();
  app.add_option("--payload-max-length", payload_max_length, "largest request body (413 beyond)")
      ->capture_default_str();
  app.add_flag("--tcp-nodelay", tcp_nodelay, "set TCP_NODELAY (cpp-httplib writes headers and body apart)");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals in every thread; one thread waits for them and stops the server cleanly
  // (Server::stop is not async-signal-safe, so it must not run in a handler).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  httplib::Server server;
  if (threads > 0) server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(keep_alive_max_count);
  server.set_keep_alive_timeout(keep_alive_timeout);
  server.set_payload_max_length(payload_max_length);
  server.set_tcp_nodelay(tcp_nodelay);
  server.Post(R"(/api/fabric/resources/subscribers/([^/]+)/sip_endpoints)",
              [](const httplib::Request&, httplib::Response& res) {
                res.status = 201;
                res.set_content(kCreatedBody, "application/json");
              });

  const int bound =
      port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound < 0) {
    std::cerr << "sipcontract-bench-bare-server: cannot bind 127.0.0.1:" << port << '\n';
    return 2;
  }
  // The socket listens from bind on: connections made from now on wait in the backlog until served.
  std::cout << "listening on http://127.0.0.1:" << bound << std::endl;
  std::atomic<bool> listen_returned{false};
  std::thread stopper([&server, &listen_returned, stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    // Server::stop() does nothing until listen_after_bind() has started running: a signal that comes
    // that early must wait for it, or the server would never stop.
    while (!server.is_running() && !listen_returned)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.stop();
  });
  const bool served = server.listen_after_bind();
  listen_returned = true;
  // If listening failed, nothing has woken the stopper yet: wake it (the signal is blocked, so sigwait
  // takes it).
  if (!served) kill(getpid(), SIGTERM);
  stopper.join();
  if (!served) {
    std::cerr << "sipcontract-bench-bare-server: listening on 127.0.0.1:" << bound << " failed\n";
    return 2;
  }
  return 0;
}
