-- wrk script of the benchmark: each request takes the next line of a file, and done() prints the
-- figures as one JSON line.
--
--   wrk ... -s bench/wrk.lua URL -- LINES_FILE                     each line a path to GET
--   wrk ... -s bench/wrk.lua URL -- LINES_FILE POST PATH TOKEN     each line a JSON body to POST to PATH
--
-- The files are written shuffled by bench/workload.py, so walking them in order from a random start is
-- random access; every thread (and its connections) shares its own copy.

local lines = {}
local method, post_path, headers
local next_line = 0

function init(args)
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  if #lines == 0 then
    error("no requests in " .. args[1])
  end
  method = args[2] or "GET"
  post_path = args[3]
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (args[4] or "") }
  math.randomseed(os.time() + #lines)
  next_line = math.random(#lines)
end

function request()
  next_line = next_line % #lines + 1
  if method == "POST" then
    return wrk.format("POST", post_path, headers, lines[next_line])
  end
  return wrk.format("GET", lines[next_line])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "mean_us": %.1f, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
