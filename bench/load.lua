-- wrk script of the benches (bench/harness.py): sends the requests of a file
-- in turn and counts what came back, so a bench checks every response rather
-- than trusting a request count.
--
-- Arguments after "--": the file (one request a line, tab-separated: method,
-- path, body, then "Name: value" headers), the expected status, "once" or
-- "cycle", and the number of threads. With "once" the threads share the lines
-- out and send each at most once: a write that would be refused the second
-- time. A request past the last line is counted as exhausted.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local function fields(line)
  local parts = {}
  for part in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(parts, part)
  end
  return parts
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local parts = fields(line)
    local headers = {}
    for position = 4, #parts do
      local name, value = parts[position]:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    local body = parts[3] ~= "" and parts[3] or nil
    table.insert(requests, wrk.format(parts[1], parts[2], headers, body))
  end
  expected = tonumber(args[2])
  once = args[3] == "once"
  -- Send-once threads take every n-th line from their own; cycling threads
  -- start at their own line, so the clients share the load evenly.
  step = once and tonumber(args[4]) or 1
  position = index + 1
  responses, ok, with_header, exhausted = 0, 0, 0, 0
  used_up = false
end

function request()
  if position > #requests then
    used_up = once
    position = (position - 1) % #requests + 1
  end
  if used_up then
    exhausted = exhausted + 1
  end
  local next_request = requests[position]
  position = position + step
  return next_request
end

function response(status, headers, body)
  responses = responses + 1
  if status == expected then
    ok = ok + 1
  end
  for name in pairs(headers) do
    if name:lower() == "ratelimit" then
      with_header = with_header + 1
      break
    end
  end
end

function done(summary, latency, requests)
  local total = { responses = 0, ok = 0, with_header = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for name in pairs(total) do
      total[name] = total[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "responses": %d, '
      .. '"ok": %d, "with_header": %d, "errors": %d, "exhausted": %d, '
      .. '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, total.responses, total.ok,
    total.with_header,
    errors.connect + errors.read + errors.write + errors.timeout,
    total.exhausted, latency:percentile(50), latency:percentile(99)
  ))
end
