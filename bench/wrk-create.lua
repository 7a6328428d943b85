-- wrk-create.lua: POSTs valid Create Subscriber SIP Endpoint bodies, each with a username never sent
-- before (a repeat would get 422 not_unique_within_project), counts the answers by status, and prints
-- one JSON line at the end: requests/s, latency percentiles, the share of 201s and wrk's errors.
--
--   BENCH_PATH=/api/fabric/resources/subscribers/<uuid>/sip_endpoints BENCH_AUTH='Basic ...' \
--   BENCH_RUN=rep3 wrk -t1 -c16 -d3s -s wrk-create.lua http://127.0.0.1:PORT
--
-- BENCH_AUTH is the Authorization header value; it is read from the environment and never printed.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = os.getenv("BENCH_PATH") or "/"
  run = os.getenv("BENCH_RUN") or "run"
  headers = { ["Content-Type"] = "application/json" }
  local auth = os.getenv("BENCH_AUTH")
  if auth and auth ~= "" then headers["Authorization"] = auth end
  sent = 0
  statuses = {}
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"username":"bench-%s-%d-%d","password":"hack-me-if-you-can","password_confirmation":"hack-me-if-you-can",' ..
    '"caller_id":"call-id-123","send_as":"+14632322867","ciphers":["AEAD_AES_256_GCM_8","AES_CM_128_HMAC_SHA1_80"],' ..
    '"codecs":["OPUS","PCMU","G722"],"encryption":"optional","call_handler":"default"}',
    run, thread_index, sent)
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    -- thread:get copies a table out of the thread's Lua state: merge the per-thread counts.
    local s = thread:get("statuses")
    for code, n in pairs(s or {}) do counts[code] = (counts[code] or 0) + n end
  end
  local answered = 0
  for _, n in pairs(counts) do answered = answered + n end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    '{"bench":"wrk","requests":%d,"seconds":%.6f,"requests_per_s":%.3f,' ..
    '"latency_p50_ms":%.3f,"latency_p99_ms":%.3f,"latency_max_ms":%.3f,' ..
    '"statuses":{%s},"share_201":%.6f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    table.concat(parts, ","), answered > 0 and (counts[201] or 0) / answered or 0,
    e.connect, e.read, e.write, e.timeout, e.status))
end
