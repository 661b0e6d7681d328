-- congvu-guard sliding-window limiter (HUE-13.2d): check and count in one atomic step.
-- KEYS[1] messages zset, KEYS[2] recipients zset, KEYS[3] lock hash, KEYS[4] bulk limits
-- ARGV[1] now in ms ("" = Redis server time, the same clock for every mail server)
-- ARGV[2] window ms  ARGV[3] message limit  ARGV[4] recipient limit (0 = off)
-- ARGV[5] recipients of this message  ARGV[6] unique member (queue id + random)
-- ARGV[7] lock reason (rule ID)  ARGV[8] locked by  ARGV[9] lock expiry ms (0 = none)
-- Returns {status, messages, recipients, limit, recipient_limit, now, kind, sample}
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local rlimit = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'locked', 0, 0, limit, rlimit, now, '', ''}
end
local custom = redis.call('GET', KEYS[4])
if custom then
  local c = cjson.decode(custom)
  if c['messages'] ~= nil then limit = tonumber(c['messages']) end
  if c['recipients'] ~= nil then rlimit = tonumber(c['recipients']) end
end
if limit < 0 then
  return {'unlimited', 0, 0, limit, rlimit, now, '', ''}
end
-- A message counted at t counts while now - t < window: at t + window it has expired.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local rcount = 0
if rlimit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  rcount = redis.call('ZCARD', KEYS[2])
end
local kind = ''
if count + 1 > limit then
  kind = 'messages'
elseif rlimit > 0 and rcount + n > rlimit then
  kind = 'recipients'
end
if kind ~= '' then
  local sample = table.concat(redis.call('ZRANGE', KEYS[1], -5, -1), ',')
  redis.call('HSET', KEYS[3], 'reason', ARGV[7], 'by', ARGV[8], 'at', tostring(now),
    'kind', kind, 'count', tostring(count), 'recipients', tostring(rcount),
    'limit', tostring(limit), 'recipient_limit', tostring(rlimit),
    'window_ms', tostring(window), 'sample', sample, 'trigger', ARGV[6])
  local ttl = tonumber(ARGV[9])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[3], ttl)
    redis.call('HSET', KEYS[3], 'expires', tostring(now + ttl))
  end
  return {'exceeded', count, rcount, limit, rlimit, now, kind, sample}
end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('PEXPIRE', KEYS[1], window)
if rlimit > 0 and n > 0 then
  local args = {}
  for i = 1, n do
    args[#args + 1] = now
    args[#args + 1] = ARGV[6] .. '#' .. i
    if #args >= 1000 or i == n then
      redis.call('ZADD', KEYS[2], unpack(args))
      args = {}
    end
  end
  redis.call('PEXPIRE', KEYS[2], window)
end
return {'ok', count + 1, rcount + n, limit, rlimit, now, '', ''}
