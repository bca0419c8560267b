-- Counts one request of one client against several windows, atomically.
--
-- The same arithmetic as SlidingWindow in stores.py, which the embedded store
-- runs in Python: keep the two in step (tests run both).
--
-- KEYS[i]    the counter prefix of window i: "rl:<policy>:<client>"
-- ARGV       quota and window in seconds of each window, in KEYS' order
-- returns    for each window: remaining, reset in ms, retry-after in ms
--            (0 when it lets the request pass), first refusal in this fixed
--            window (0/1), first pass of 80% in this fixed window (0/1)
--
-- The counter keys are built here from the prefixes, so the script does not
-- run on Redis Cluster, which needs every key listed in KEYS.

local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000

local function seconds_until_free(quota, window, elapsed, current, previous)
  local rest = window - elapsed
  if current + 1 <= quota then
    if previous <= 0 then
      return 0
    end
    -- Still in this window: the previous window's weight fades with time.
    return math.max(0, rest - window * (quota - 1 - current) / previous)
  end
  -- In the next window, this window's count is the one that fades.
  return rest + window * (1 - (quota - 1) / current)
end

local windows = {}
local refused = false
for i, prefix in ipairs(KEYS) do
  local quota = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local index = math.floor(now / window)
  local elapsed = now - index * window
  local current = tonumber(redis.call('GET', prefix .. ':' .. index) or 0)
  local previous = tonumber(redis.call('GET', prefix .. ':' .. (index - 1)) or 0)
  local used = previous * (window - elapsed) / window + current
  local retry = 0
  if used + 1 > quota then
    retry = seconds_until_free(quota, window, elapsed, current, previous)
    refused = true
  end
  windows[i] = {prefix, quota, window, index, elapsed, current, previous, used, retry}
end

local result = {}
for i, w in ipairs(windows) do
  local prefix, quota, window, index, elapsed, current, previous, used, retry =
    unpack(w)
  local key = prefix .. ':' .. index
  local first_refusal, warning = 0, 0

  if not refused then
    redis.call('INCR', key)
    redis.call('EXPIRE', key, 2 * window + 1)
    current = current + 1
    used = used + 1
    if used >= 0.8 * quota and redis.call('SET', key .. ':warned', 1, 'NX', 'EX', window) then
      warning = 1
    end
  elseif retry > 0 and redis.call('SET', key .. ':refused', 1, 'NX', 'EX', window) then
    first_refusal = 1
  end

  local remaining = math.max(0, math.floor(quota - used))
  local reset = window - elapsed
  if remaining == 0 then
    reset = seconds_until_free(quota, window, elapsed, current, previous)
  end
  table.insert(result, remaining)
  table.insert(result, math.ceil(reset * 1000))
  table.insert(result, math.ceil(retry * 1000))
  table.insert(result, first_refusal)
  table.insert(result, warning)
end
return result
