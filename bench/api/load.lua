-- wrk script: every connection waits `NOISE_DELAY_MS` between requests, so
-- the rate is fixed by the connection count, not by how fast the server is
-- (a closed loop at full speed would measure queueing, not the API).
local token = os.getenv("NOISE_API_TOKEN")
local pause = tonumber(os.getenv("NOISE_DELAY_MS") or "19")
wrk.headers["Authorization"] = "Bearer " .. token

function delay()
  return pause
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  -- One line the runner parses: the percentiles in microseconds and the non-200 count.
  io.write(string.format("NOISE p50=%d p90=%d p99=%d max=%d requests=%d errors=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
