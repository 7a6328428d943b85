// sipcontract/server.hpp: the reference server, an in-memory implementation of a contract: the
// create, list, get, update and delete operations it gives its main resource (the one its
// operation of record acts on). Routes, fields, defaults, unique rules, secrets, error bodies,
// paging and the credentials' names all come from the Contract it is given (the built-in v1 by
// default), so another contract folder is served with no change here.
//
//   sipcontract::ServerOptions opts;            // 127.0.0.1, port 0 = a free port
//   opts.parents = {"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b"};
//   sipcontract::ReferenceServer server(opts);  // or (opts, sipcontract::Contract::load(dir)) kept alive
//   server.start();                              // listening when it returns
//   std::string base = server.base_url();        // "http://127.0.0.1:PORT" + the contract's base path
//   server.stop();                               // also done by the destructor
//
// Paths (under base_url()): the contract's operations, plus HEAD and OPTIONS. Checks run in this
// order: credentials (401), path and parent (404), method (405), body size (413), Content-Type,
// JSON, schema, unique rules (each 422). A body that is not JSON or has another Content-Type gets
// 422 with the contract's code for it, keeping every answer to a body inside the contract's
// documented statuses. src/server/api.cpp explains each decision; docs/contract.md has the table.
//
// Fault modes (ServerFault) break one contract rule each, so tests can prove a check fires;
// variants (ServerVariant) are other CONFORMING answers where the contract is silent, so a client
// can be run against each and must pass. Both are layers around the business logic
// (src/server/layers.hpp), combinable freely, and pick the fields they touch from the contract.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/contract.hpp"

namespace sipcontract {

/// Deliberate breaches of one contract rule, so tests can prove the runner catches each.
/// kNone is the conforming server; every other value breaks exactly the rule it names.
enum class ServerFault {
  kNone,
  kWrongStatus,       ///< a successful create answers 200 instead of 201
  kWrongContentType,  ///< every response says Content-Type: text/plain
  kNonJsonBody,       ///< a successful create's body is not JSON
  kMissingField,      ///< a 201 body lacks the id field
  kBadEnum,           ///< a 201 body's first enum field (v1: ciphers) has a value outside its enum
  kBadUuid,           ///< a 201 body's id is not a UUID
  kNoEcho,            ///< a 201 body alters the first string field sent, the name field aside (v1: caller_id)
  kWrongDefault,      ///< the first field with a documented default, omitted, is answered with another value
  kLeakSecret,        ///< a 201 body carries the first secret field's value (v1: the password)
  kLeakToken,         ///< a 201 body carries the API token
  kSlow,              ///< every answer waits ServerOptions::fault_delay_ms first
  kAcceptDuplicates,  ///< a value a unique rule forbids twice is accepted (201, not 422)
  kAcceptInvalid,     ///< a body that breaks the request schema is accepted (201)
  kNoAuth,            ///< missing or wrong credentials are accepted
  kUnknownParentOk,   ///< a create under an unknown parent gets 201, not 404
  kBadErrorShape,     ///< a 422 body is {"error": "..."} instead of the contract's shape
  kWrongAttribute,    ///< a 422 item names attribute "unknown" instead of the field at fault
  kUndocumentedStatus,  ///< a 422 is sent as 400
  kIgnoreDelete,        ///< DELETE answers 204 but keeps the item
  kResetConnection,     ///< a create closes the connection without answering
  kTruncatedBody,       ///< a 201 declares a longer Content-Length than the body it sends
  kHugeBody,            ///< a 201 body is padded to ServerOptions::fault_body_bytes
  kDeepNesting,         ///< a 201 body nests arrays ServerOptions::fault_depth levels deep
  kStoreThen500,        ///< a create stores the item, then answers 500
  kList503,             ///< the list answers 503 with Retry-After: 0
  kGatewayDelete404,    ///< DELETE answers a problem+json 404 and keeps the endpoint (a gateway's)
  kGet404,              ///< GET of one item answers 404 while the item stays listed
  kListOmits,           ///< the list answers an empty page (no next link) while items exist
  // The fixed suite does not catch the four below; `run --generate` does (tests/runner/test_generate.cpp).
  kControlChar500,      ///< a create or update with a control character in any string value answers 500
  kComboDefault,        ///< a create sending the last value of the first enum list (v1: codecs H264) and a
                        ///< non-default value of the first field with a documented default (v1: encryption)
                        ///< reports that field's default in its 201
  kNullAsAbsent,        ///< null for an optional field that is not an enum (v1: caller_id, send_as, ciphers,
                        ///< codecs, calling_handler_resource_id) is taken as absent: 201, not 422
  kListKeepsDeleted,    ///< a deleted item stays in its parent's list (its last page), though it reads as 404
};

/// Conforming alternatives where the contract is silent: a server with any set of variants is
/// still a correct implementation, and a client that fails against one assumed too much.
enum class ServerVariant {
  kChunked,          ///< response bodies are sent with Transfer-Encoding: chunked
  kGzip,             ///< response bodies are gzip-coded when the request's Accept-Encoding allows it
  kConnectionClose,  ///< every answer says Connection: close, and the connection closes
  kExtraFields,      ///< every JSON object answered has undocumented extra members
  kCreateOnlyField,  ///< the 201 has an undocumented member ("region") that GET and list do not
  kPaginated,        ///< lists come in pages of 2 with absolute self, first, next and prev links
  kRelativeLinks,    ///< list links are relative paths (the base path and on)
  kDelete200,        ///< DELETE answers 200 with the deleted endpoint instead of 204
  kErrorsReversed,   ///< a 422 lists its items in reverse order
  kErrorsFirstOnly,  ///< a 422 names only the first problem
  kMediaType,        ///< "Application/JSON; charset=UTF-8", pretty-printed, members in another order
  kStatus415,        ///< a create whose body is empty or not declared JSON gets 415 (JSON error)
  kStatus400,        ///< a create whose JSON body is malformed or not an object gets 400 (JSON error)
};

/// How the reference server is configured. Defaults suit a local, single-user run.
struct ServerOptions {
  std::string host = "127.0.0.1";  ///< address to bind ("0.0.0.0" for every interface)
  int port = 0;                    ///< 0 picks a free port
  std::string project_id;          ///< Basic auth user; empty: generated at start
  std::string api_token;           ///< Basic auth secret; empty: generated at start
  std::vector<std::string>
      parents;  ///< known parents (UUIDs where the contract says so); empty: one generated
  std::size_t max_body_bytes = 1u << 20;  ///< larger bodies get 413
  std::size_t max_endpoints = 100000;  ///< past this a create is refused (documented answer, see server.cpp)
  std::size_t max_store_bytes = 256u << 20;  ///< past this much stored text a create is refused the same way
  std::size_t max_json_depth = 32;           ///< deeper request bodies are not JSON the server accepts (422)
  /// Worker threads: the requests served at once. A connection holds one while a request is
  /// arriving or being answered, and between requests only briefly and while no other connection
  /// waits for one; idle connections cost no thread. 0 = max(16, 2 x cores).
  std::size_t threads = 0;
  /// Connections open at once; past this, new clients wait in the listen backlog until one closes.
  std::size_t max_connections = 1024;
  /// Connections the kernel queues before they are accepted (listen(2) backlog; Linux caps it at
  /// net.core.somaxconn). Size it to the clients that may connect at once (run: 4 x jobs).
  int listen_backlog = 512;
  int read_timeout_ms = 5000;        ///< one read from a client may wait this long
  int write_timeout_ms = 5000;       ///< one write to a client may wait this long
  int request_timeout_ms = 30000;    ///< a whole request (line, headers, body) must arrive within this
  int keep_alive_timeout_ms = 5000;  ///< an idle keep-alive connection is closed after this
  std::size_t keep_alive_max_requests = 100;  ///< requests served on one connection before it is closed
  std::set<ServerFault> faults;               ///< rules to break on purpose (tests only)
  std::set<ServerVariant> variants;           ///< conforming alternatives to take (tests only)
  int fault_delay_ms = 2000;                  ///< kSlow: the delay before each answer
  std::size_t fault_body_bytes = 64u << 20;   ///< kHugeBody: the body size
  std::size_t fault_depth = 200000;           ///< kDeepNesting: the nesting depth
  /// Receives one access-log line per request (never a credential or password); null = none.
  /// Calls are serialised by the server, so the callee needs no lock of its own.
  std::function<void(const std::string&)> access_log;
};

/// The CLI name of a fault ("wrong-status" for kWrongStatus, "none" for kNone).
std::string_view fault_name(ServerFault fault);
/// The fault a CLI name denotes, or std::nullopt when the name is unknown.
std::optional<ServerFault> parse_fault(std::string_view name);
/// Every fault except kNone, in declaration order.
const std::vector<ServerFault>& all_faults();

/// The CLI name of a variant ("chunked" for kChunked).
std::string_view variant_name(ServerVariant variant);
/// The variant a CLI name denotes, or std::nullopt when the name is unknown.
std::optional<ServerVariant> parse_variant(std::string_view name);
/// Every variant, in declaration order.
const std::vector<ServerVariant>& all_variants();
/// One line saying what a variant does, for --help.
std::string_view variant_description(ServerVariant variant);

/// The in-process reference server. Thread-safe; start() and stop() may be called once each.
/// `contract` must outlive the server.
class ReferenceServer {
 public:
  /// Checks the options (throws std::invalid_argument for a parent that is not a UUID where the
  /// contract's parent parameter is one) and fills in generated credentials and a generated parent
  /// where none were given.
  explicit ReferenceServer(ServerOptions options, const Contract& contract = Contract::builtin());
  /// Stops the server if it is running.
  ~ReferenceServer();
  ReferenceServer(const ReferenceServer&) = delete;
  ReferenceServer& operator=(const ReferenceServer&) = delete;

  /// Binds and starts serving on a background thread; throws std::runtime_error if it cannot bind.
  void start();
  /// Stops accepting, finishes in-flight requests, joins the threads. Idempotent.
  void stop();

  /// The bound port (the chosen one when the options said 0); 0 before start().
  int port() const;
  /// "http://HOST:PORT" and the contract's base path: the base URL the runner and clients use.
  std::string base_url() const;
  /// The effective options (with generated credentials and parents filled in).
  const ServerOptions& options() const;
  /// How many items the server holds now (all parents).
  std::size_t endpoint_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipcontract
