"""The cluster's Lua scripts: every decision that several machines race on is one script.

Redis runs a script atomically, so a pop and its lease, a claim and its check, a record and the
lease's end cannot interleave with another worker's. Every script that decides by time reads
Redis's clock (``TIME``), the one clock every machine sees.
"""

from __future__ import annotations

NOW = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""


def with_clock(script: str) -> str:
    """Decisions use Redis's clock (milliseconds), the one clock every machine sees."""
    return NOW + script


#: KEYS pending, queue; ARGV key, data -> 1 offered, 0 already in the cluster's hands
OFFER = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

#: KEYS queue, pending, leases, holders, done; ARGV n, token, lease_ms -> list of data
POP = with_clock("""
local now = now_ms()
local out = {}
while #out < tonumber(ARGV[1]) do
  local data = redis.call('LPOP', KEYS[1])
  if not data then break end
  local key, gen = data, ''
  local ok, obj = pcall(cjson.decode, data)
  if ok and type(obj) == 'table' then
    if type(obj['url']) == 'string' then key = obj['url'] end
    local meta = obj['meta']
    if type(meta) == 'table' then
      if type(meta['cluster_key']) == 'string' then key = meta['cluster_key'] end
      if type(meta['cluster_gen']) == 'string' then gen = meta['cluster_gen'] end
    end
  end
  local skip = gen ~= '' and redis.call('HGET', KEYS[5], key) == gen
  if not skip then
    local holder = redis.call('HGET', KEYS[4], key)
    local expiry = redis.call('ZSCORE', KEYS[3], key)
    skip = holder and holder ~= ARGV[2] and expiry and tonumber(expiry) > now
  end
  if not skip then
    redis.call('HSET', KEYS[4], key, ARGV[2])
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), key)
    redis.call('HSET', KEYS[2], key, data)
    table.insert(out, data)
  end
end
return out
""")

#: KEYS leases, holders; ARGV token, lease_ms, key... -> keys this worker no longer holds
RENEW = with_clock("""
local now = now_ms()
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
""")

#: KEYS leases, holders, pending, queue; ARGV limit -> how many lapsed leases were put back
REQUEUE = with_clock("""
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, key in ipairs(keys) do
  redis.call('ZREM', KEYS[1], key)
  redis.call('HDEL', KEYS[2], key)
  local data = redis.call('HGET', KEYS[3], key)
  if data then redis.call('LPUSH', KEYS[4], data) end
end
return #keys
""")

#: KEYS leases, holders, done; ARGV key, token, gen, lease_ms -> ok | done | lost
CLAIM = with_clock("""
local now = now_ms()
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[3] then return 'done' end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[2] then
  local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if expiry and tonumber(expiry) > now then return 'lost' end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
return 'ok'
""")

#: KEYS leases, holders, pending, done, records, urls, failed;
#: ARGV lease key, token, gen, record key, record, url... -> 1
DONE = """
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
redis.call('HDEL', KEYS[7], ARGV[4])
for i = 6, #ARGV do redis.call('HSET', KEYS[6], ARGV[i], ARGV[4]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[3]) end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if (not holder) or holder == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1
"""

#: KEYS leases, holders, pending, queue; ARGV key, token, requeue ('1': back to the queue's
#: head; '': forget it) -> 1 released, 0 not ours
RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  local data = redis.call('HGET', KEYS[3], ARGV[1])
  if ARGV[3] == '1' and data then
    redis.call('LPUSH', KEYS[4], data)
  else
    redis.call('HDEL', KEYS[3], ARGV[1])
  end
  return 1
end
return 0
"""

#: KEYS queue, leases, feeders -> {queued, leased, live feeders}
STATUS = with_clock("""
return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]),
        redis.call('ZCOUNT', KEYS[3], '(' .. now_ms(), '+inf')}
""")

#: KEYS feeders; ARGV token, ttl_ms (0: gone)
FEEDER = with_clock("""
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
""")

#: KEYS paths; ARGV path, key -> 1 when the path is (now) this key's
CLAIM_PATH = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 1 end
return 0
"""
