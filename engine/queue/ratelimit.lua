-- GCRA: one rate-limit decision for the key KEYS[1].
-- ARGV[1] emission interval in microseconds (1 / rate)
-- ARGV[2] burst: requests allowed at once from a full bucket
-- ARGV[3] now in microseconds, or "" for Redis's own clock
-- The key holds the theoretical arrival time (TAT) in microseconds and
-- expires when the bucket would be full again.
-- Returns {1, 0} when allowed, {0, microseconds until allowed} when not.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  -- Redis before 5 replicates scripts, not their effects: TIME needs this
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local next_tat = tat + interval
local allow_at = next_tat - burst * interval
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return {1, 0}
