#include "httplib_adapter.hpp"

#include <string>
#include <utility>

namespace sipcontract::detail::refserver {
namespace {

using HandlerResponse = httplib::Server::HandlerResponse;

// Whether the request announces a body (RFC 9112 section 6.3: without Content-Length or
// Transfer-Encoding, a request has none).
bool announces_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  const std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

// A body httplib will read when asked (content-reader handlers: POST, PUT, PATCH, DELETE), or
// not at all (`reader` null: httplib answers every other method without reading a body).
class HttplibBody final : public BodySource {
 public:
  HttplibBody(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader)
      : req_(req), res_(res), reader_(reader) {}

  BodyRead read(std::string& out, std::size_t max_bytes) override {
    if (std::exchange(used_, true)) return BodyRead::kFailed;
    if (!announces_body(req_)) return BodyRead::kOk;
    if (reader_ == nullptr) return BodyRead::kFailed;
    // Not JSON whatever it holds: dropped (bounded), so the Content-Type check answers; when it
    // cannot be dropped whole, the connection closes after the answer.
    if (req_.is_multipart_form_data()) {
      clean_ = drop(max_bytes);
      return BodyRead::kOk;
    }
    bool too_large = false;
    const bool ok = (*reader_)([&](const char* data, std::size_t n) {
      if (out.size() + n > max_bytes) {
        too_large = true;
        return false;
      }
      out.append(data, n);
      return true;
    });
    if (ok) return BodyRead::kOk;
    if (too_large) return BodyRead::kTooLarge;
    // httplib records 415 when it cannot decode the Content-Encoding.
    return res_.status == 415 ? BodyRead::kUnsupportedEncoding : BodyRead::kFailed;
  }

  bool discard(std::size_t max_bytes) override {
    if (std::exchange(used_, true) || !announces_body(req_)) return true;
    if (reader_ == nullptr) return false;
    return drop(max_bytes);
  }

  /// False when the body was read as empty but the connection is not at a request boundary.
  bool clean() const { return clean_; }

 private:
  bool drop(std::size_t max_bytes) {
    std::size_t seen = 0;
    auto count = [&](const char*, std::size_t n) {
      seen += n;
      return seen <= max_bytes;
    };
    return req_.is_multipart_form_data()
               ? (*reader_)([](const httplib::MultipartFormData&) { return true; }, count)
               : (*reader_)(count);
  }

  const httplib::Request& req_;
  httplib::Response& res_;  // where httplib's reader records its own status
  const httplib::ContentReader* reader_;
  bool used_ = false;
  bool clean_ = true;
};

// The server's Request for what httplib parsed (all of it, or as much as it got to).
Request to_request(const httplib::Request& in) {
  Request out;
  out.method = in.method;
  out.path = in.path;
  out.version = in.version.empty() ? "HTTP/1.1" : in.version;
  out.query.reserve(in.params.size());
  for (const auto& [name, value] : in.params) out.query.emplace_back(name, value);
  out.headers.reserve(in.headers.size());
  for (const auto& [name, value] : in.headers) out.headers.add(name, value);
  out.remote_addr = in.remote_addr;
  return out;
}

// Whether httplib closes the connection after this request, as its own process_request decides
// (compared exactly as httplib does).
bool closes(const httplib::Request& req, const ConnectionState& state) {
  const std::string connection = req.get_header_value("Connection");
  return state.last || connection == "close" || (req.version == "HTTP/1.0" && connection != "Keep-Alive");
}

void answer(const HttpServer& server, const httplib::Request& hreq, httplib::Response& hres,
            const httplib::ContentReader* reader) {
  ConnectionState* state = current_connection();
  if (state == nullptr) return;
  Request req = to_request(hreq);
  HttplibBody body(hreq, hres, reader);
  req.body_source = &body;
  Response res = server.handle(req);
  if (!body.clean()) res.close_after = true;
  server.write(*state, req, res, closes(hreq, *state));
}

}  // namespace

void install_httplib_adapter(HttpServer& server) {
  // POST, PUT, PATCH and DELETE go to content-reader handlers, which read a body only when the
  // handler asks for it; every other method is answered before httplib reads anything.
  server.set_pre_routing_handler([&server](const httplib::Request& req, httplib::Response& res) {
    const std::string& m = req.method;
    if (m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE") return HandlerResponse::Unhandled;
    answer(server, req, res, nullptr);
    return HandlerResponse::Handled;
  });
  const std::string any = R"([\s\S]*)";
  auto with_reader = [&server](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) { answer(server, req, res, &reader); };
  server.Post(any, with_reader).Put(any, with_reader).Patch(any, with_reader).Delete(any, with_reader);

  // Expect: 100-continue: the request without its body first (Request::precheck), so a refusal
  // leaves before the client sends the body; 100 lets it come.
  server.set_expect_100_continue_handler([&server](const httplib::Request& hreq, httplib::Response& hres) {
    ConnectionState* state = current_connection();
    if (state == nullptr) return 100;
    Request req = to_request(hreq);
    req.precheck = true;
    HttplibBody unread(hreq, hres, nullptr);
    req.body_source = &unread;
    Response res = server.handle(req);
    if (res.status == 100) return 100;
    res.close_after = true;  // the body, if the client sends it anyway, is not read
    server.write(*state, req, res, true);
    hres.status = res.status;
    return res.status;  // httplib then writes its own answer, which is dropped
  });

  // What httplib answers itself (a request line or headers it cannot parse, a body it cannot
  // frame) goes to the handler as a framing error; answers already written stay as they are.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([&server](const httplib::Request& hreq, httplib::Response& hres) {
        ConnectionState* state = current_connection();
        if (state == nullptr || state->answered) return HandlerResponse::Handled;
        Request req = to_request(hreq);
        req.framing_error = hres.status;
        Response res = server.handle(req);
        server.write(*state, req, res, true);
        return HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [&server](const httplib::Request& hreq, httplib::Response&, std::exception_ptr) {
        ConnectionState* state = current_connection();
        if (state == nullptr || state->answered) return;
        Request req = to_request(hreq);
        req.framing_error = 500;
        Response res = server.handle(req);
        server.write(*state, req, res, true);
      });
}

}  // namespace sipcontract::detail::refserver
