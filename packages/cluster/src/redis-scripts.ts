import { createHash } from 'node:crypto';

/** A Lua script run with EVALSHA (sent once per connection: EVAL on `NOSCRIPT`). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// Every script reads the holder from the claim's JSON (`node`, `draining`) with Redis's cjson; a value that is not
// a claim (another program's key under our prefix) is treated as held by someone else: never overwritten.
const HOLDER = `
local function holder(text)
  local ok, held = pcall(cjson.decode, text)
  if ok and type(held) == 'table' and type(held.node) == 'string' then return held end
  return nil
end
`;

/**
 * KEYS[1]: the claim's key. ARGV: the claim's JSON, its node, the TTL (ms), the events channel.
 * Returns `{1, previous}` (claimed; previous is '' or the replaced value) or `{0, holder}` (refused).
 */
export const CLAIM = script(`${HOLDER}
local current = redis.call('GET', KEYS[1])
local previous = 'null'
if current then
  local held = holder(current)
  if held ~= nil and held.node == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
    return {1, current}
  end
  if held == nil or held.draining ~= true then return {0, current} end
  previous = cjson.encode(held.node)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], '{"type":"claim","claim":' .. ARGV[1] .. ',"previous":' .. previous .. '}')
return {1, current or ''}
`);

/**
 * KEYS: the claims' keys. ARGV: the TTL (ms), the node, the events channel, then each claim's JSON in KEYS order.
 * Returns one entry per key: 'ok' (refreshed), 'set' (was missing: set again), or the value of the claim that
 * holds it now.
 */
export const RENEW = script(`${HOLDER}
local result = {}
for i, key in ipairs(KEYS) do
  local value = ARGV[3 + i]
  local current = redis.call('GET', key)
  if not current then
    redis.call('SET', key, value, 'PX', ARGV[1])
    redis.call('PUBLISH', ARGV[3], '{"type":"claim","claim":' .. value .. ',"previous":null}')
    result[i] = 'set'
  else
    local held = holder(current)
    if held ~= nil and held.node == ARGV[2] then
      redis.call('SET', key, value, 'PX', ARGV[1])
      result[i] = 'ok'
    else
      result[i] = current
    end
  end
end
return result
`);

/** KEYS[1]: the claim's key. ARGV: the node, the events channel, the relay key. Returns 1 when released. */
export const RELEASE = script(`${HOLDER}
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local held = holder(current)
if held == nil or held.node ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], cjson.encode({type = 'release', key = ARGV[3], node = ARGV[1]}))
return 1
`);
