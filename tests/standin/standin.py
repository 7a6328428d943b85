#!/usr/bin/env python3
"""An independent stand-in for the SignalWire Fabric REST operation "Create Subscriber SIP Endpoint"
(and its list, get, update and delete siblings), written from the public contract only:
https://developer.signalwire.com/rest/signalwire-rest/endpoints/fabric/subscribers-sip-endpoint-create

It exists so that `sipcontract run` is tried against a server that was not written together with
the runner: every decision the contract leaves open is made here on its own, the way a typical
Rails- or Django-style JSON API would make it, and each one can be flipped by a variant. Python 3
standard library only (Debian 12's python3, 3.11).

Usage:
  SIGNALWIRE_PROJECT_ID=... SIGNALWIRE_API_TOKEN=... \
    python3 standin.py [--host 127.0.0.1] [--port 0] [--subscriber UUID]... [--variant NAME]... [--log]

Prints "listening on http://HOST:PORT/api/fabric", then one "subscriber UUID" line per subscriber,
and serves until SIGTERM or SIGINT (exit 0). Exit 2 on bad flags or missing credentials.

Routes (under /api/fabric/resources/subscribers/{subscriber}/sip_endpoints):
  POST   ''      create  -> 201 SipEndpoint | 401 | 404 | 422 (+ the open body statuses below)
  GET    ''      list    -> 200 {"data": [...], "links": {"self", "first", "next"?, "prev"?}}
  GET    /{id}   get     -> 200 SipEndpoint | 404
  PATCH  /{id}   update  -> 200 SipEndpoint | 404 | 422 (every create field optional)
  DELETE /{id}   delete  -> 204 | 404
Other methods on those paths get 405 with Allow; any other path 404 {"error": "Not Found"}.

Decisions of the default ("plain") behaviour, where the contract is silent:
  * Authentication is checked before anything else (after the body is read, so a keep-alive
    connection stays in step): 401 {"error": "Unauthorized"} with WWW-Authenticate: Basic.
  * An empty body (nothing, or only whitespace; whatever its Content-Type): 400.
    A body sent with a media type other than application/json (parameters allowed, charset must be
    utf-8 when given; application/*+json accepted) or with none: 415.
    A body that is not JSON (or not UTF-8, or with NaN/Infinity, or lone surrogates): 400.
    JSON that is not an object: 422 invalid_parameter with attribute null.
    400 and 415 bodies are {"error": "<reason phrase>", "message": "..."}.
  * A body larger than 1 MiB: 413 (the connection is closed, the body is not read).
  * 422 lists every problem found, in the order of the contract's fields; a username that is
    taken is reported even when other fields are wrong.
  * "username" and "password" must be non-empty strings (presence); "password_confirmation" must
    be present and equal "password". A null for an optional field is refused (it is not a string).
  * send_as must be E.164 (+ then 2 to 15 digits, no leading 0): else send_as_is_invalid.
    ciphers/codecs must be arrays; an entry outside the enum: list_contains_invalid_entries.
    A value of the wrong JSON type: invalid_parameter. Both call_handler and
    calling_handler_resource_id: invalid_parameter on calling_handler_resource_id.
  * Unknown request fields are ignored.
  * Usernames are unique within the project (the credential pair), across its subscribers; a
    deleted endpoint frees its username.
  * An omitted field reads back as: caller_id "", send_as "", ciphers [], codecs [],
    encryption "default", call_handler "default", calling_handler_resource_id a UUID the server
    generates for the endpoint. The password is never answered.
  * Every endpoint carries an undocumented "created_at" (ISO 8601, UTC). A 201 carries Location.
  * PATCH: password alone is accepted; password_confirmation must then equal it when given;
    password_confirmation without password is refused. Setting call_handler keeps the stored
    calling_handler_resource_id and vice versa.
  * List: oldest first, page size 10 (page_size 1..100, page_number from 1; anything else 422),
    absolute links built from the Host header with page_number/page_size.
  * DELETE answers 204 with no body and no Content-Type.
  * Content-Type: application/json; charset=utf-8; compact JSON, keys in the contract's order,
    UTF-8 not escaped. HTTP/1.1 keep-alive with Content-Length.

Variants (--variant NAME, repeatable and combinable; each is a conforming alternative):
  plain            the defaults above (the same as giving no variant)
  chunked          response bodies with Transfer-Encoding: chunked (in chunks of at most 16 bytes)
  gzip             bodies gzip-compressed (Content-Encoding: gzip, Vary) when the request's
                   Accept-Encoding allows gzip; an absent Accept-Encoding gets identity
  close            Connection: close on every answer, and the socket is closed after it
  extra-fields     more undocumented fields in every JSON object answered (endpoints, list, links,
                   errors and their items); "region" appears in the 201 only, not in later reads
  paginated        list page size 2, opaque cursor page_token in absolute links.next/links.prev
  delete-200       DELETE answers 200 with the deleted endpoint as JSON
  errors-shuffled  422 items in reverse order (the last problem found first)
  errors-first     a 422 names only the first problem found
  media-type       Content-Type "Application/JSON; charset=UTF-8", header names in unusual case,
                   pretty-printed JSON with every object's keys in reverse order
  status-400       every body-level problem (media type, empty, not JSON, not an object) is 400
  status-415       every body-level problem is 415 (the body is not acceptable application/json)
  status-422       every body-level problem is 422 invalid_parameter with attribute null
  strict-fields    unknown request fields refused: 422 invalid_parameter naming the field
  server-defaults  omitted fields read back as server defaults: caller_id = username, ciphers
                   and codecs lists of the server's choice, calling_handler_resource_id the nil
                   UUID, and call_handler "call_flow" when only a resource id was given
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gzip
import hmac
import json
import os
import re
import signal
import socket
import sys
import threading
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, urlencode

VARIANTS = {
    "plain": "the defaults (the same as no variant)",
    "chunked": "Transfer-Encoding: chunked response bodies",
    "gzip": "gzip bodies when Accept-Encoding allows it",
    "close": "Connection: close on every answer",
    "extra-fields": "undocumented fields in every JSON object; region only in the 201",
    "paginated": "list page size 2, page_token cursor links",
    "delete-200": "DELETE answers 200 with a JSON body",
    "errors-shuffled": "422 items in reverse order",
    "errors-first": "a 422 names only the first problem",
    "media-type": "Application/JSON; charset=UTF-8, odd header case, pretty JSON, reversed keys",
    "status-400": "every body-level problem is 400",
    "status-415": "every body-level problem is 415",
    "status-422": "every body-level problem is 422 invalid_parameter",
    "strict-fields": "unknown request fields refused with 422 invalid_parameter",
    "server-defaults": "omitted fields read back as server-chosen defaults",
}
EXCLUSIVE = ("status-400", "status-415", "status-422")

MAX_BODY = 1 << 20  # 1 MiB
ERROR_URL = "https://developer.signalwire.com/rest/signalwire-rest/overview/error-codes"
BASE = "/api/fabric"

CIPHERS = ("AEAD_AES_256_GCM_8", "AES_256_CM_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80",
           "AES_256_CM_HMAC_SHA1_32", "AES_CM_128_HMAC_SHA1_32")
CODECS = ("OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264")
ENCRYPTIONS = ("default", "required", "optional")
PASSTHROUGH_HANDLERS = ("default", "passthrough", "block-pstn")
CREATE_FIELDS = ("username", "password", "password_confirmation", "caller_id", "send_as", "ciphers",
                 "codecs", "encryption", "call_handler", "calling_handler_resource_id")

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
COLLECTION_RE = re.compile(r"^/api/fabric/resources/subscribers/([^/]+)/sip_endpoints/?$")
MEMBER_RE = re.compile(r"^/api/fabric/resources/subscribers/([^/]+)/sip_endpoints/([^/]+)/?$")
SURROGATE_RE = re.compile("[\ud800-\udfff]")


def is_uuid(value) -> bool:
    return isinstance(value, str) and UUID_RE.match(value) is not None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BodyProblem(Exception):
    """A request body the operation cannot take at all: kind is media-type, empty, not-json or
    not-object."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class Store:
    """Endpoints in memory, per subscriber, in creation order; one lock for all of it."""

    def __init__(self, subscribers):
        self.lock = threading.Lock()
        self.subscribers = {s.lower(): {} for s in subscribers}  # subscriber -> {id: record}
        self.usernames = {}  # username -> endpoint id (unique within the project)
        self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


class Config:
    def __init__(self, variants, project, token, subscribers, log=False):
        self.log = log
        self.variants = set(variants)
        self.project = project
        self.token = token
        self.store = Store(subscribers)

    def on(self, name: str) -> bool:
        return name in self.variants


class ProblemList:
    """The 422 items of one request, in the order found."""

    def __init__(self):
        self.items = []

    def add(self, code: str, attribute, message: str):
        self.items.append({"type": "validation_error", "code": code, "message": message,
                           "attribute": attribute, "url": ERROR_URL})

    def __bool__(self):
        return bool(self.items)


def validate_fields(body: dict, cfg: Config, creating: bool, current: dict | None, owner_id: str | None):
    """Checks a create (creating=True) or update body; returns the ProblemList."""
    p = ProblemList()
    store = cfg.store

    def string_field(name, required, presence):
        if name not in body:
            if required:
                p.add("missing_required_parameter", name, f"{name} is required")
            return
        value = body[name]
        if not isinstance(value, str):
            p.add("invalid_parameter", name, f"{name} must be a string")
        elif presence and value.strip() == "":
            p.add("missing_required_parameter", name, f"{name} can't be blank")

    string_field("username", creating, True)
    if isinstance(body.get("username"), str) and body["username"].strip() != "":
        holder = store.usernames.get(body["username"])
        if holder is not None and holder != owner_id:
            p.add("not_unique_within_project", "username", "username has already been taken")
    string_field("password", creating, True)
    string_field("password_confirmation", creating, False)
    if "password_confirmation" in body and isinstance(body["password_confirmation"], str):
        if "password" not in body:
            if not creating:
                p.add("invalid_parameter", "password_confirmation",
                      "password_confirmation is only accepted together with password")
        elif isinstance(body["password"], str) and body["password_confirmation"] != body["password"]:
            p.add("invalid_parameter", "password_confirmation", "password_confirmation doesn't match password")
    string_field("caller_id", False, False)
    if "send_as" in body:
        value = body["send_as"]
        if not isinstance(value, str):
            p.add("invalid_parameter", "send_as", "send_as must be a string")
        elif not E164_RE.match(value):
            p.add("send_as_is_invalid", "send_as", "send_as must be a phone number in E.164 format")
    for name, allowed in (("ciphers", CIPHERS), ("codecs", CODECS)):
        if name in body:
            value = body[name]
            if not isinstance(value, list):
                p.add("invalid_parameter", name, f"{name} must be an array")
            elif any(not isinstance(v, str) or v not in allowed for v in value):
                p.add("list_contains_invalid_entries", name,
                      f"{name} contains invalid entries; allowed: {', '.join(allowed)}")
    for name, allowed in (("encryption", ENCRYPTIONS), ("call_handler", PASSTHROUGH_HANDLERS)):
        if name in body:
            value = body[name]
            if not isinstance(value, str) or value not in allowed:
                p.add("invalid_parameter", name, f"{name} must be one of: {', '.join(allowed)}")
    if "calling_handler_resource_id" in body and not is_uuid(body["calling_handler_resource_id"]):
        p.add("invalid_parameter", "calling_handler_resource_id", "calling_handler_resource_id must be a UUID")
    if "call_handler" in body and "calling_handler_resource_id" in body:
        p.add("invalid_parameter", "calling_handler_resource_id",
              "give either call_handler or calling_handler_resource_id, not both")
    if cfg.on("strict-fields"):
        for name in body:
            if name not in CREATE_FIELDS:
                p.add("invalid_parameter", name, f"{name} is not a known parameter")
    return p


def public_view(record: dict, cfg: Config, just_created: bool) -> dict:
    out = {k: record[k] for k in ("id", "username", "caller_id", "send_as", "ciphers", "codecs",
                                  "encryption", "call_handler", "calling_handler_resource_id")}
    out["ciphers"] = list(out["ciphers"])
    out["codecs"] = list(out["codecs"])
    out["created_at"] = record["created_at"]
    if cfg.on("extra-fields"):
        out["updated_at"] = record["updated_at"]
        out["type"] = "sip_endpoint"
        out["fabric_subscriber_id"] = record["subscriber"]
        out["sip_uri"] = f"sip:{record['username']}@standin.invalid"
        if just_created:
            out["region"] = "us-east"
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is dropped after this
    cfg: Config = None  # set on the class before serving

    # ---- plumbing -----------------------------------------------------------------------------

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # quiet: the test reads stdout lines, and stderr is for real trouble

    def header_name(self, name: str) -> str:
        if not self.cfg.on("media-type"):
            return name
        odd = {"Content-Type": "content-TYPE", "Content-Length": "CONTENT-LENGTH",
               "Transfer-Encoding": "transfer-encoding", "Content-Encoding": "CONTENT-ENCODING",
               "Connection": "connection", "Location": "LOCATION", "Vary": "vary",
               "Allow": "allow", "WWW-Authenticate": "www-authenticate", "Date": "DATE",
               "Server": "server"}
        return odd.get(name, name.lower())

    def json_bytes(self, doc) -> bytes:
        if self.cfg.on("media-type"):
            def reorder(v):
                if isinstance(v, dict):
                    return {k: reorder(v[k]) for k in reversed(list(v))}
                if isinstance(v, list):
                    return [reorder(x) for x in v]
                return v
            return (json.dumps(reorder(doc), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def gzip_accepted(self) -> bool:
        headers = getattr(self, "headers", None)
        header = None if headers is None else headers.get("Accept-Encoding")
        if header is None:
            return False
        best = None
        for part in header.split(","):
            fields = [f.strip() for f in part.split(";")]
            coding = fields[0].lower()
            if coding not in ("gzip", "x-gzip", "*"):
                continue
            q = 1.0
            for f in fields[1:]:
                if f.lower().startswith("q="):
                    try:
                        q = float(f[2:])
                    except ValueError:
                        q = 0.0
            if coding == "*" and best is not None:
                continue  # an explicit gzip entry wins over the wildcard
            best = q
        return best is not None and best > 0

    def respond(self, status: int, doc=None, extra_headers=(), close=False, head_only=False):
        """Sends one answer: status, a JSON document (or none), the variant's framing."""
        cfg = self.cfg
        body = b"" if doc is None else self.json_bytes(doc)
        headers = list(extra_headers)
        if doc is not None:
            ctype = "Application/JSON; charset=UTF-8" if cfg.on("media-type") else "application/json; charset=utf-8"
            headers.append(("Content-Type", ctype))
            if cfg.on("gzip"):
                headers.append(("Vary", "Accept-Encoding"))
                if self.gzip_accepted() and body:
                    body = gzip.compress(body, mtime=0)
                    headers.append(("Content-Encoding", "gzip"))
        # An HTTP/1.0 client cannot read chunked framing: it gets Content-Length (and the close).
        chunked = (cfg.on("chunked") and doc is not None and status not in (204, 304)
                   and getattr(self, "request_version", "HTTP/1.1") != "HTTP/1.0")
        if close or cfg.on("close"):
            self.close_connection = True
        if self.cfg.log:
            headers_in = getattr(self, "headers", None)
            seen = "" if headers_in is None else " ".join(
                f"{name}={headers_in.get(name)!r}" for name in ("Content-Type", "Accept-Encoding", "Connection")
                if headers_in.get(name) is not None)
            sys.stderr.write(f"standin: {self.command} {getattr(self, 'path', '')} -> {status} {seen}\n")
        self.send_response_only(status)
        self.send_header(self.header_name("Server"), self.version_string())
        self.send_header(self.header_name("Date"), self.date_time_string())
        for name, value in headers:
            self.send_header(self.header_name(name), value)
        if status != 204 and status >= 200:
            if chunked:
                self.send_header(self.header_name("Transfer-Encoding"), "chunked")
            else:
                self.send_header(self.header_name("Content-Length"), str(len(body)))
        if self.close_connection:
            self.send_header(self.header_name("Connection"), "close")
        self.end_headers()
        if head_only or status == 204:
            self.wfile.flush()
            return
        if chunked:
            for i in range(0, len(body), 16):
                piece = body[i:i + 16]
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.wfile.flush()

    def send_error(self, code, message=None, explain=None):
        """The base class's own errors (bad request line, headers too long, unknown method) in JSON."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # garbage, not HTTP/0.9: answer with a status line
        doc = {"error": phrase}
        if message:
            doc["message"] = message
        try:
            self.respond(code, self.decorate(doc), close=True, head_only=self.command == "HEAD")
        except Exception:  # noqa: BLE001 (the connection closes whatever went wrong)
            pass

    def decorate(self, doc: dict) -> dict:
        """Adds the extra-fields variant's undocumented fields to an error document."""
        if self.cfg.on("extra-fields"):
            doc = dict(doc)
            doc["request_id"] = str(uuid.uuid4())
            if "errors" in doc:
                doc["errors"] = [dict(item, detail=item["message"]) for item in doc["errors"]]
        return doc

    def simple_error(self, status: int, message=None, extra_headers=(), close=False):
        doc = {"error": HTTPStatus(status).phrase}
        if message:
            doc["message"] = message
        self.respond(status, self.decorate(doc), extra_headers, close=close, head_only=self.command == "HEAD")

    def unprocessable(self, problems: ProblemList):
        items = list(problems.items)
        if self.cfg.on("errors-shuffled"):
            items.reverse()
        if self.cfg.on("errors-first"):
            items = items[:1]
        self.respond(422, self.decorate({"errors": items}))

    # ---- reading the request ------------------------------------------------------------------

    def read_body(self):
        """The request body as bytes, or None after answering 400/413 (the connection then closes)."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                self.simple_error(501 if te.strip() else 400, "unsupported Transfer-Encoding", close=True)
                return None
            if self.headers.get("Content-Length") is not None:
                self.close_connection = True  # RFC 9112 6.3: chunked wins, and the connection closes after
            data = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    self.simple_error(400, "malformed chunked body", close=True)
                    return None
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    self.simple_error(400, "malformed chunk size", close=True)
                    return None
                if size < 0 or len(data) + size > MAX_BODY:
                    self.simple_error(413, f"the body exceeds {MAX_BODY} bytes", close=True)
                    return None
                if size == 0:
                    while True:  # trailers up to the empty line
                        trailer = self.rfile.readline(8192)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    return bytes(data)
                piece = self.rfile.read(size)
                if len(piece) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    self.simple_error(400, "truncated chunk", close=True)
                    return None
                data += piece
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        values = {v.strip() for v in ",".join(lengths).split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            self.simple_error(400, "invalid Content-Length", close=True)
            return None
        length = int(next(iter(values)))
        if length > MAX_BODY:
            self.simple_error(413, f"the body exceeds {MAX_BODY} bytes", close=True)
            return None
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            self.close_connection = True
            return None
        return data

    def authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        user, sep, password = decoded.partition(":")
        if not sep:
            return False
        ok_user = hmac.compare_digest(user.encode(), self.cfg.project.encode())
        ok_pass = hmac.compare_digest(password.encode(), self.cfg.token.encode())
        return ok_user and ok_pass

    def parse_object(self, raw: bytes) -> dict:
        """The body as a JSON object, or BodyProblem."""
        if raw.strip() == b"":  # nothing sent: there is no media type to judge
            raise BodyProblem("empty", "the request body is empty")
        ctype = self.headers.get("Content-Type")
        if ctype is None:
            raise BodyProblem("media-type", "Content-Type must be application/json")
        media, *params = [part.strip() for part in ctype.split(";")]
        media = media.lower()
        json_media = media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
        charset_ok = True
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
                charset_ok = False
        if not json_media or not charset_ok:
            raise BodyProblem("media-type", f"unsupported media type {ctype!r}; send application/json")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BodyProblem("not-json", f"the body is not UTF-8 ({e.reason} at byte {e.start})") from None

        def no_constants(name):
            raise ValueError(f"{name} is not JSON")

        try:
            doc = json.loads(text, parse_constant=no_constants)
        except json.JSONDecodeError as e:
            raise BodyProblem("not-json", f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        except (ValueError, RecursionError) as e:
            raise BodyProblem("not-json", f"the body is not acceptable JSON: {type(e).__name__}") from None
        if SURROGATE_RE.search(json.dumps(doc, ensure_ascii=False)):
            raise BodyProblem("not-json", "the body holds a lone surrogate escape")
        if not isinstance(doc, dict):
            raise BodyProblem("not-object", "the body must be a JSON object")
        return doc

    def body_problem(self, problem: BodyProblem):
        cfg = self.cfg
        if cfg.on("status-400"):
            status = 400
        elif cfg.on("status-415"):
            status = 415
        elif cfg.on("status-422"):
            status = 422
        else:
            status = {"media-type": 415, "empty": 400, "not-json": 400, "not-object": 422}[problem.kind]
        if status == 422:
            p = ProblemList()
            p.add("invalid_parameter", None, problem.message)
            self.unprocessable(p)
        else:
            self.simple_error(status, problem.message)

    # ---- routing ------------------------------------------------------------------------------

    def handle_any(self):
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except Exception as e:  # never crash: a bug here is a 500, and the connection closes
            sys.stderr.write(f"standin: {type(e).__name__}: {e}\n")
            self.close_connection = True
            try:
                self.respond(500, self.decorate({"error": "Internal Server Error"}), close=True)
            except OSError:
                pass

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = handle_any

    def dispatch(self):
        raw = self.read_body()
        if raw is None:
            return
        if not self.authorized():
            self.simple_error(401, extra_headers=[("WWW-Authenticate", 'Basic realm="SignalWire"')])
            return
        split = urlsplit(self.path)
        path = split.path
        store = self.cfg.store
        m = COLLECTION_RE.match(path)
        member = None
        if m is None:
            m = MEMBER_RE.match(path)
            if m is not None:
                member = m.group(2).lower()
        if m is None:
            self.simple_error(404)
            return
        subscriber = m.group(1).lower()
        with store.lock:
            known = subscriber in store.subscribers
        if not known:
            self.simple_error(404)
            return
        allowed = ("GET", "HEAD", "POST") if member is None else ("GET", "HEAD", "PATCH", "DELETE")
        if self.command not in allowed:
            self.simple_error(405, extra_headers=[("Allow", ", ".join(allowed))])
            return
        if member is None:
            if self.command == "POST":
                self.create(subscriber, raw)
            else:
                self.list(subscriber, parse_qs(split.query, keep_blank_values=True))
        elif self.command in ("GET", "HEAD"):
            with store.lock:
                record = store.subscribers[subscriber].get(member)
                view = None if record is None else public_view(record, self.cfg, False)
            if view is None:
                self.simple_error(404)
            else:
                self.respond(200, view, head_only=self.command == "HEAD")
        elif self.command == "PATCH":
            self.update(subscriber, member, raw)
        else:
            self.delete(subscriber, member)

    # ---- operations ---------------------------------------------------------------------------

    def create(self, subscriber: str, raw: bytes):
        cfg = self.cfg
        try:
            body = self.parse_object(raw)
        except BodyProblem as problem:
            self.body_problem(problem)
            return
        store = cfg.store
        with store.lock:
            problems = validate_fields(body, cfg, True, None, None)
            if problems:
                view = None
            else:
                endpoint_id = str(uuid.uuid4())
                given_resource = body.get("calling_handler_resource_id")
                if cfg.on("server-defaults"):
                    caller_id = body.get("caller_id", body["username"])
                    ciphers = body.get("ciphers", ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"])
                    codecs = body.get("codecs", ["OPUS", "G722", "PCMU", "PCMA"])
                    resource = (given_resource or "00000000-0000-0000-0000-000000000000")
                    handler = body.get("call_handler", "call_flow" if given_resource else "default")
                else:
                    caller_id = body.get("caller_id", "")
                    ciphers = body.get("ciphers", [])
                    codecs = body.get("codecs", [])
                    resource = given_resource or str(uuid.uuid4())
                    handler = body.get("call_handler", "default")
                stamp = now_iso()
                record = {
                    "id": endpoint_id,
                    "username": body["username"],
                    "caller_id": caller_id,
                    "send_as": body.get("send_as", ""),
                    "ciphers": list(ciphers),
                    "codecs": list(codecs),
                    "encryption": body.get("encryption", "default"),
                    "call_handler": handler,
                    "calling_handler_resource_id": resource.lower(),
                    "password": body["password"],
                    "created_at": stamp,
                    "updated_at": stamp,
                    "subscriber": subscriber,
                    "seq": store.next_seq(),
                }
                store.subscribers[subscriber][endpoint_id] = record
                store.usernames[record["username"]] = endpoint_id
                view = public_view(record, cfg, True)
        if problems:
            self.unprocessable(problems)
            return
        location = self.absolute(f"{BASE}/resources/subscribers/{subscriber}/sip_endpoints/{view['id']}")
        self.respond(201, view, extra_headers=[("Location", location)])

    def update(self, subscriber: str, member: str, raw: bytes):
        cfg = self.cfg
        store = cfg.store
        with store.lock:
            exists = member in store.subscribers[subscriber]
        if not exists:
            self.simple_error(404)
            return
        try:
            body = self.parse_object(raw)
        except BodyProblem as problem:
            self.body_problem(problem)
            return
        with store.lock:
            record = store.subscribers[subscriber].get(member)
            if record is None:
                problems, view = None, None
            else:
                problems = validate_fields(body, cfg, False, record, member)
                view = None
                if not problems:
                    if "username" in body and body["username"] != record["username"]:
                        store.usernames.pop(record["username"], None)
                        store.usernames[body["username"]] = member
                    for name in ("username", "password", "caller_id", "send_as", "encryption", "call_handler"):
                        if name in body:
                            record[name] = body[name]
                    for name in ("ciphers", "codecs"):
                        if name in body:
                            record[name] = list(body[name])
                    if "calling_handler_resource_id" in body:
                        record["calling_handler_resource_id"] = body["calling_handler_resource_id"].lower()
                    record["updated_at"] = now_iso()
                    view = public_view(record, cfg, False)
        if record is None:
            self.simple_error(404)
        elif problems:
            self.unprocessable(problems)
        else:
            self.respond(200, view)

    def delete(self, subscriber: str, member: str):
        store = self.cfg.store
        with store.lock:
            record = store.subscribers[subscriber].pop(member, None)
            if record is not None:
                if store.usernames.get(record["username"]) == member:
                    del store.usernames[record["username"]]
                view = public_view(record, self.cfg, False)
        if record is None:
            self.simple_error(404)
        elif self.cfg.on("delete-200"):
            self.respond(200, view)
        else:
            self.respond(204)

    def absolute(self, path_and_query: str) -> str:
        host = self.headers.get("Host")
        if not host or any(c in host for c in "/\\@ \t\r\n"):
            addr, port = self.server.server_address[:2]
            host = f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
        return f"http://{host}{path_and_query}"

    def list(self, subscriber: str, query: dict):
        cfg = self.cfg
        problems = ProblemList()
        default_size = 2 if cfg.on("paginated") else 10

        def int_param(name, default, low, high):
            values = query.get(name)
            if not values:
                return default
            text = values[-1].strip()
            if not text.isdigit() or not (low <= int(text) <= high):
                problems.add("invalid_parameter", name, f"{name} must be an integer from {low} to {high}")
                return default
            return int(text)

        size = int_param("page_size", default_size, 1, 100)
        number = int_param("page_number", 1, 1, 10**9)
        token = (query.get("page_token") or [None])[-1]
        cursor = None
        if token:
            try:
                decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
                direction, seq = decoded[0], int(decoded[1:])
                if direction not in "ab":
                    raise ValueError(direction)
                cursor = (direction, seq)
            except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
                problems.add("invalid_parameter", "page_token", "page_token is not valid")
        if problems:
            self.unprocessable(problems)
            return
        store = cfg.store
        with store.lock:
            records = sorted(store.subscribers[subscriber].values(), key=lambda r: r["seq"])
            views = [(r["seq"], public_view(r, cfg, False)) for r in records]
        base_path = f"{BASE}/resources/subscribers/{subscriber}/sip_endpoints"
        links = {}
        if cfg.on("paginated") or cursor is not None:
            def token_for(direction, seq):
                return base64.urlsafe_b64encode(f"{direction}{seq}".encode()).decode().rstrip("=")

            if cursor is None:
                page = views[:size]
            elif cursor[0] == "a":
                page = [v for v in views if v[0] > cursor[1]][:size]
            else:
                page = [v for v in views if v[0] < cursor[1]][-size:]
            links["self"] = self.absolute(base_path + "?" + urlencode(
                {"page_size": size, **({"page_token": token} if token else {})}))
            links["first"] = self.absolute(base_path + "?" + urlencode({"page_size": size}))
            if page and any(v[0] > page[-1][0] for v in views):
                links["next"] = self.absolute(base_path + "?" + urlencode(
                    {"page_size": size, "page_token": token_for("a", page[-1][0])}))
            if page and any(v[0] < page[0][0] for v in views):
                links["prev"] = self.absolute(base_path + "?" + urlencode(
                    {"page_size": size, "page_token": token_for("b", page[0][0])}))
        else:
            start = (number - 1) * size
            page = views[start:start + size]
            links["self"] = self.absolute(base_path + "?" + urlencode({"page_number": number, "page_size": size}))
            links["first"] = self.absolute(base_path + "?" + urlencode({"page_number": 1, "page_size": size}))
            if start + size < len(views):
                links["next"] = self.absolute(base_path + "?" + urlencode({"page_number": number + 1, "page_size": size}))
            if number > 1:
                links["prev"] = self.absolute(base_path + "?" + urlencode({"page_number": number - 1, "page_size": size}))
        doc = {"data": [v for _, v in page], "links": links}
        if cfg.on("extra-fields"):
            links["collection"] = self.absolute(base_path)  # an undocumented link beside the documented ones
            doc["meta"] = {"page_size": size, "total": len(views)}
        self.respond(200, doc, head_only=self.command == "HEAD")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Server6(Server):
    address_family = socket.AF_INET6


def main(argv=None) -> int:
    variant_help = "\n".join(f"  {name:<16} {text}" for name, text in VARIANTS.items())
    parser = argparse.ArgumentParser(
        description="Independent stand-in for the SignalWire Fabric 'Create Subscriber SIP Endpoint' "
                    "API (create, list, get, update, delete), in memory. Credentials from "
                    "SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN.",
        epilog="variants (repeatable, combinable; status-400/415/422 exclude each other):\n" + variant_help,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for a free one (default 0)")
    parser.add_argument("--subscriber", action="append", default=[], metavar="UUID",
                        help="a fabric_subscriber_id to serve (repeatable; default: one generated)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME",
                        help="a conforming variant (repeatable); see below")
    parser.add_argument("--log", action="store_true",
                        help="one stderr line per answer: method, target, status, a few request headers")
    args = parser.parse_args(argv)

    for name in args.variant:
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    if sum(name in args.variant for name in EXCLUSIVE) > 1:
        parser.error(f"only one of {', '.join(EXCLUSIVE)} at a time")
    for s in args.subscriber:
        if not is_uuid(s):
            parser.error(f"--subscriber {s!r} is not a UUID")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    project = os.environ.get("SIGNALWIRE_PROJECT_ID")
    token = os.environ.get("SIGNALWIRE_API_TOKEN")
    if not project or not token:
        sys.stderr.write("standin: set SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN (the Basic auth "
                         "user and password the stand-in accepts)\n")
        return 2

    subscribers = [s.lower() for s in args.subscriber] or [str(uuid.uuid4())]
    Handler.cfg = Config(args.variant, project, token, subscribers, args.log)
    server_class = Server6 if ":" in args.host else Server
    try:
        server = server_class((args.host, args.port), Handler)
    except OSError as e:
        sys.stderr.write(f"standin: cannot listen on {args.host}:{args.port}: {e}\n")
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    lines = [f"listening on http://{shown}:{port}{BASE}"] + [f"subscriber {s}" for s in subscribers]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    while not stop.wait(0.5):
        if not thread.is_alive():
            return 1
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
