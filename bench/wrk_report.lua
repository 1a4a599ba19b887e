-- wrk script for the benchmarks in this folder.
--
-- When WRK_BODY is set, every request is a POST with that JSON body. When
-- WRK_PAGES is a number N, each request adds "&page=" and a random page from
-- 1 to N to the path, so a server sees many different queries. When the run
-- ends, one line starting with "WRK_RESULT " carries the totals and the
-- latency percentiles as JSON, in microseconds, for wrk_runner.py to parse.

local body = os.getenv("WRK_BODY")
if body ~= nil and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

local pages = tonumber(os.getenv("WRK_PAGES") or "")
if pages ~= nil and pages > 0 then
  math.randomseed(os.time())
  request = function()
    return wrk.format(nil, wrk.path .. "&page=" .. math.random(1, pages))
  end
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max
  ))
end
