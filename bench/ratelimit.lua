-- wrk script for bench/ratelimit.py: sends the tokens given after "--" in
-- turn, and counts what came back, so the bench checks every response rather
-- than trusting a request count.

local threads = {}

function setup(thread)
  -- Each thread starts at its own token, so the clients share the load evenly.
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  tokens = args
  position = offset
  responses, ok, with_header = 0, 0, 0
end

function request()
  position = position % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Token " .. tokens[position] })
end

function response(status, headers, body)
  responses = responses + 1
  if status == 200 then
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
  local total = { responses = 0, ok = 0, with_header = 0 }
  for _, thread in ipairs(threads) do
    for name in pairs(total) do
      total[name] = total[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "responses": %d, '
      .. '"ok": %d, "with_header": %d, "errors": %d}\n',
    summary.requests, summary.duration, total.responses, total.ok,
    total.with_header,
    errors.connect + errors.read + errors.write + errors.timeout
  ))
end
