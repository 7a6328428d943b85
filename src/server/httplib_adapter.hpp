// The boundary between cpp-httplib and the reference server: requests httplib parses become the
// server's own Request (exchange.hpp), and their answers are written by HttpServer::write(). This
// and connection.cpp are the only places that know httplib's types.
#pragma once

#include "connection.hpp"

namespace sipcontract::detail::refserver {

/// Registers httplib handlers on `server` that hand every request httplib parses (and every
/// request it cannot parse, as a framing error) to the server's handler.
void install_httplib_adapter(HttpServer& server);

}  // namespace sipcontract::detail::refserver
