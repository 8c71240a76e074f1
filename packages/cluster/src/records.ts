import type { NodeLoad, NodeRecord, NodeStream, RegistryEvent, StreamClaim } from './registry.js';

/** The largest record read from a registry: a value past it is refused before parsing. */
export const MAX_RECORD_BYTES = 1 << 20;

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : undefined;
}

function parse(text: string): Json | undefined {
  if (text.length > MAX_RECORD_BYTES) return undefined;
  try {
    return object(JSON.parse(text));
  } catch {
    return undefined;
  }
}

const isString = (value: unknown): value is string => typeof value === 'string' && value !== '';
const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;

/** A claim read from its JSON, or undefined for anything that is not one (another program's value, garbage). */
export function claimOf(value: unknown): StreamClaim | undefined {
  const json = typeof value === 'string' ? parse(value) : object(value);
  if (json === undefined) return undefined;
  const { key, node, url, since, draining } = json;
  if (!isString(key) || !isString(node) || !isString(url)) return undefined;
  return { key, node, url, since: count(since), draining: draining === true };
}

/** A node record read from its JSON, or undefined. */
export function nodeOf(text: string): NodeRecord | undefined {
  const json = parse(text);
  if (json === undefined) return undefined;
  const { id, url, httpUrl, state, startedAt, updatedAt } = json;
  if (!isString(id) || !isString(url)) return undefined;
  const load = object(json.load) ?? {};
  const nodeLoad: NodeLoad = {
    connections: count(load.connections),
    publishers: count(load.publishers),
    viewers: count(load.viewers),
    bytesInPerSec: count(load.bytesInPerSec),
    bytesOutPerSec: count(load.bytesOutPerSec),
  };
  const streams: NodeStream[] = [];
  for (const entry of Array.isArray(json.streams) ? json.streams : []) {
    const stream = object(entry);
    if (stream === undefined || !isString(stream.key)) continue;
    streams.push({
      key: stream.key,
      role: stream.role === 'edge' ? 'edge' : 'origin',
      viewers: count(stream.viewers),
    });
  }
  return {
    id,
    url,
    httpUrl: isString(httpUrl) ? httpUrl : null,
    state: state === 'draining' ? 'draining' : 'live',
    load: nodeLoad,
    streams,
    startedAt: count(startedAt),
    updatedAt: count(updatedAt),
  };
}

/** A claim or release event read from a registry's notification, or undefined. */
export function eventOf(text: string): RegistryEvent | undefined {
  const json = parse(text);
  if (json === undefined) return undefined;
  if (json.type === 'claim') {
    const claim = claimOf(json.claim);
    if (claim === undefined) return undefined;
    return { type: 'claim', claim, previous: isString(json.previous) ? json.previous : null };
  }
  if (json.type === 'release' && isString(json.key) && isString(json.node)) {
    return { type: 'release', key: json.key, node: json.node };
  }
  return undefined;
}
