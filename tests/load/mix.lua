-- wrk script: a mix of valid, invalid and malformed requests plus concurrent deletes against
-- `sipcontract serve`, checking every answer as it comes and recording what each client was told.
--
-- Run with one connection per thread (wrk -tN -cN): each thread is then one client whose requests
-- and responses strictly alternate, so every response is matched to the request it answers.
-- Environment: SC_LOAD_AUTH (the Authorization header value), SC_LOAD_SUBSCRIBER, SC_LOAD_STATE
-- (the file done() writes), SC_LOAD_SEED (optional, for a repeatable mix).
--
-- The state file has one record a line:
--   live ID USERNAME        a 201 this client was told about and never deleted
--   deleted ID              a 204 to this client's DELETE
--   pending KIND ARG        a request without an answer: in flight when wrk stopped, or on a
--                           connection that failed (its effect on the store is unknown)
--   count KIND STATUS N     answers per kind of request and status
--   mismatch KIND EXPECTED GOT DETAIL   an answer other than the contract's (first 20 per thread)
--   thread ID REQUESTS      per thread

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local auth, subscriber, collection
local unknown = "11111111-2222-4333-8444-555555555555"

function init(args)
  auth = os.getenv("SC_LOAD_AUTH")
  subscriber = os.getenv("SC_LOAD_SUBSCRIBER")
  collection = "/api/fabric/resources/subscribers/" .. subscriber .. "/sip_endpoints"
  math.randomseed(tonumber(os.getenv("SC_LOAD_SEED") or os.time()) + tid * 7919)
  -- Globals, so that done() can read them through thread:get().
  live = {}        -- id -> username
  live_ids = {}    -- ids in creation order (for picking)
  gone = {}        -- ids deleted, for re-deletes and reads that must be 404
  gone_ids = {}
  deleted = {}     -- id -> true (204s)
  counts = {}      -- "kind status" -> n
  mismatches = {}
  serial = 0
  requests = 0
  pending = nil    -- {kind, expect, arg}: the request awaiting its answer
  pending_kind, pending_arg = "", ""
  lost = {}        -- "KIND ARG" of requests whose connection failed before an answer
  first = true     -- see request()
end

local function headers(extra)
  local h = {["Authorization"] = auth, ["Host"] = "127.0.0.1"}
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function json_headers()
  return headers({["Content-Type"] = "application/json"})
end

local function new_username()
  serial = serial + 1
  return "ld" .. tid .. "-" .. serial
end

local function body_for(username)
  return '{"username":"' .. username .. '","password":"load-Pw-1","password_confirmation":"load-Pw-1",' ..
         '"codecs":["OPUS","PCMU"],"ciphers":["AEAD_AES_256_GCM_8"],"encryption":"optional"}'
end

local function pick(list, map)
  -- A random element of `list` still present in `map` (lists are pruned lazily).
  while #list > 0 do
    local i = math.random(#list)
    local id = list[i]
    if map[id] ~= nil then return id, i end
    list[i] = list[#list]
    list[#list] = nil
  end
  return nil
end

local function take(list, map)
  local id, i = pick(list, map)
  if id then
    list[i] = list[#list]
    list[#list] = nil
  end
  return id
end

-- Each kind: weight, and a builder returning (request text, expected status, argument).
local kinds = {
  {"create", 30, function()
    local u = new_username()
    return wrk.format("POST", collection, json_headers(), body_for(u)), 201, u
  end},
  {"duplicate", 5, function()
    local id = pick(live_ids, live)
    if not id then return nil end
    return wrk.format("POST", collection, json_headers(), body_for(live[id])), 422, live[id]
  end},
  {"invalid", 8, function()
    return wrk.format("POST", collection, json_headers(),
      '{"username":7,"password":"a","password_confirmation":"b","codecs":["G711"],"call_handler":"relay_script"}'),
      422, ""
  end},
  {"malformed-json", 5, function()
    return wrk.format("POST", collection, json_headers(), '{"username":"x","password":'), 422, ""
  end},
  {"wrong-content-type", 3, function()
    return wrk.format("POST", collection, headers({["Content-Type"] = "text/plain"}), body_for(new_username())), 422, ""
  end},
  {"no-auth", 3, function()
    return wrk.format("POST", collection, {["Host"] = "127.0.0.1", ["Content-Type"] = "application/json"},
      body_for(new_username())), 401, ""
  end},
  {"unknown-subscriber", 3, function()
    local path = "/api/fabric/resources/subscribers/" .. unknown .. "/sip_endpoints"
    return wrk.format("POST", path, json_headers(), body_for(new_username())), 404, ""
  end},
  {"wrong-method", 2, function()
    return wrk.format("PUT", collection, json_headers(), "{}"), 405, ""
  end},
  {"too-large", 2, function()
    return wrk.format("POST", collection, json_headers(), '{"username":"' .. string.rep("x", 5000) .. '"}'), 413, ""
  end},
  {"garbage", 2, function()
    return "GARBAGE /\x01\x02 HTTP/9.9\r\n\r\n", 400, ""
  end},
  {"delete", 18, function()
    local id = take(live_ids, live)
    if not id then return nil end
    live[id] = nil  -- no longer this client's to read; counted again when the answer comes
    return wrk.format("DELETE", collection .. "/" .. id, headers()), 204, id
  end},
  {"delete-again", 3, function()
    local id = pick(gone_ids, gone)
    if not id then return nil end
    return wrk.format("DELETE", collection .. "/" .. id, headers()), 404, id
  end},
  {"get", 8, function()
    local id = pick(live_ids, live)
    if not id then return nil end
    return wrk.format("GET", collection .. "/" .. id, headers()), 200, id
  end},
  {"get-deleted", 3, function()
    local id = pick(gone_ids, gone)
    if not id then return nil end
    return wrk.format("GET", collection .. "/" .. id, headers()), 404, id
  end},
  {"list", 5, function()
    return wrk.format("GET", collection .. "?page_size=20", headers()), 200, ""
  end},
}
local total_weight = 0
for _, k in ipairs(kinds) do total_weight = total_weight + k[2] end

local function note(kind, status)
  local key = kind .. " " .. status
  counts[key] = (counts[key] or 0) + 1
end

function request()
  if first then
    -- Before the run, wrk calls request() once in the first thread and parses what it returns
    -- (to count pipelined requests), exiting "invalid HTTP method" when that is the garbage kind.
    -- So each thread's first request is a well-formed list, left out of the bookkeeping: never sent
    -- in the first thread, and answered to no pending entry in the others.
    first = false
    return wrk.format("GET", collection .. "?page_size=1", headers())
  end
  if pending then
    -- The previous request got no answer (its connection failed): its outcome is unknown.
    note(pending.kind, "none")
    table.insert(lost, pending.kind .. " " .. pending.arg)
    pending = nil
  end
  while true do
    local r = math.random(total_weight)
    for _, k in ipairs(kinds) do
      r = r - k[2]
      if r <= 0 then
        local text, expect, arg = k[3]()
        if text then
          pending = {kind = k[1], expect = expect, arg = arg}
          pending_kind, pending_arg = k[1], arg
          requests = requests + 1
          return text
        end
        break
      end
    end
  end
end

function response(status, hdrs, body)
  local p = pending
  pending = nil
  pending_kind, pending_arg = "", ""
  if not p then return end
  note(p.kind, status)
  local detail = ""
  if p.kind == "create" and status == 201 then
    local id = body:match('"id":"([^"]+)"')
    local username = body:match('"username":"([^"]+)"')
    if id and username == p.arg then
      live[id] = username
      table.insert(live_ids, id)
    else
      status, detail = "201-unreadable", body:sub(1, 80)
    end
  elseif p.kind == "delete" then
    if status == 204 then
      deleted[p.arg] = true
      gone[p.arg] = true
      table.insert(gone_ids, p.arg)
    end
  elseif p.kind == "get" and status == 200 then
    if not body:find(p.arg, 1, true) then status, detail = "200-other-body", body:sub(1, 80) end
  end
  if status ~= p.expect and #mismatches < 20 then
    table.insert(mismatches, p.kind .. " " .. p.expect .. " " .. tostring(status) .. " " .. p.arg .. " " .. detail)
  end
end

function done(summary, latency, reqs)
  local path = os.getenv("SC_LOAD_STATE")
  local f = assert(io.open(path, "w"))
  for _, t in ipairs(threads) do
    local tid = t:get("tid")
    f:write("thread ", tid, " ", t:get("requests"), "\n")
    for id, username in pairs(t:get("live")) do f:write("live ", id, " ", username, "\n") end
    for id, _ in pairs(t:get("deleted")) do f:write("deleted ", id, "\n") end
    local kind = t:get("pending_kind")
    if kind ~= "" then f:write("pending ", kind, " ", t:get("pending_arg"), "\n") end
    for _, l in ipairs(t:get("lost")) do f:write("pending ", l, "\n") end
    for key, n in pairs(t:get("counts")) do f:write("count ", key, " ", n, "\n") end
    for _, m in ipairs(t:get("mismatches")) do f:write("mismatch ", m, "\n") end
  end
  f:close()
end
