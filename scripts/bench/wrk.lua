-- wrk script for scripts/benchmarks: POSTs JSON bodies read from a file (one
-- body a line, given after `--`), cycling through them, and prints a JSON
-- summary line ("WRKJSON {...}") that cmd/benchreport reads.
local bodies = {}
local n = 0

-- Requests are formatted once, in init: formatting each in request() would
-- make wrk, not the server, the bottleneck for the fastest servers.
function init(args)
  local headers = {["Content-Type"] = "application/json"}
  for line in io.lines(args[1]) do
    if #line > 0 then
      bodies[#bodies + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  if #bodies == 0 then
    error("no bodies in " .. tostring(args[1]))
  end
end

function request()
  n = n % #bodies + 1
  return bodies[n]
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
