-- wrk script for bench/run.ts: POSTs one short native-format JSON text message per request
-- (or, with BENCH_BODY_FILE and BENCH_CONTENT_TYPE set, that file's bytes)
-- and, at the end, prints one machine-readable line ("WRK_JSON {...}") so the driver does
-- not have to parse wrk's human report (whose units change with magnitude).
--
-- No per-response callback on purpose: defining response() makes wrk parse every header into
-- Lua, which costs load-tool CPU on a 2-core machine shared with the bot. Success is counted
-- as requests minus wrk's status errors (HTTP >= 400), and the driver cross-checks it against
-- the bot's /metrics and the fake server's post counter.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text":"Deploy of api-gateway 1.42.0 to production finished in 3m12s (bench)"}'

-- The images scenario sends a prepared body (multipart text + JPEG) instead.
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end

-- BENCH_TEXT_DELAY_MS=<n>: every connection waits n ms after each answer before its next text
-- post, so the texts are an offered load below what the bot can take rather than as many as it
-- answers (bench/run.ts `mixed-paced`). Prepared bodies (the photos) never wait.
local text_delay_ms = tonumber(os.getenv("BENCH_TEXT_DELAY_MS") or "")
if text_delay_ms and text_delay_ms > 0 and not (body_file and body_file ~= "") then
  function delay()
    return text_delay_ms
  end
end
