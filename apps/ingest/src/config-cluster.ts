import type { OptionKey, OptionValues } from './options.js';

/** `--cluster` and the options beside it: this node's place in a cluster of ingest nodes on Redis. */
export interface IngestCluster {
  /** `--cluster`: the Redis URL (`redis://` or `rediss://`). */
  readonly redisUrl: string;
  /** `--node-url`: `rtmp[s]://host:port` where other nodes reach this one; null: from `--host`/hostname and the RTMP port. */
  readonly nodeUrl: string | null;
  /** `--node-id`; null: the host and port of the node URL. */
  readonly nodeId: string | null;
  /** `--cluster-ttl`: seconds a dead node keeps its claims. */
  readonly ttlSec: number;
  /** `--cluster-prefix`: prefix of the Redis keys. */
  readonly prefix: string;
}

/** The part of the configuration this file reads. */
export interface IngestClusterSettings {
  /** Null without `--cluster`. */
  readonly cluster: IngestCluster | null;
}

type ClusterValues = { readonly [K in OptionKey]?: OptionValues[K] | undefined };

function protocolOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.hostname === '' ? null : parsed.protocol;
  } catch {
    return null;
  }
}

/** Reads and checks the cluster options; problems go to `errors`. */
export function readCluster(values: ClusterValues, errors: string[]): IngestClusterSettings {
  const { cluster, nodeUrl, nodeId } = values;
  if (cluster === undefined) {
    for (const [flag, given] of [
      ['node-url', nodeUrl],
      ['node-id', nodeId],
    ] as const) {
      if (given !== undefined) errors.push(`--${flag} needs --cluster`);
    }
    return { cluster: null };
  }
  const redis = protocolOf(cluster);
  if (redis !== 'redis:' && redis !== 'rediss:') {
    errors.push(`--cluster: "${cluster}" is not a redis:// or rediss:// URL`);
  }
  if (nodeUrl !== undefined) {
    const protocol = protocolOf(nodeUrl);
    const path = protocol === null ? '' : new URL(nodeUrl).pathname.replace(/\/+$/, '');
    if ((protocol !== 'rtmp:' && protocol !== 'rtmps:') || path !== '') {
      errors.push(
        `--node-url: "${nodeUrl}" is not rtmp[s]://host[:port] (no path: the app and key are appended)`,
      );
    }
  }
  if (nodeId !== undefined && !/^[A-Za-z0-9:_.@[\]-]{1,128}$/.test(nodeId)) {
    errors.push(`--node-id: "${nodeId}" must be 1-128 letters, digits or : _ . @ [ ] -`);
  }
  const prefix = values.clusterPrefix ?? 'rtmp';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(prefix)) {
    errors.push(`--cluster-prefix: "${prefix}" must be 1-64 letters, digits or : _ . -`);
  }
  return {
    cluster: {
      redisUrl: cluster,
      nodeUrl: nodeUrl ?? null,
      nodeId: nodeId ?? null,
      ttlSec: values.clusterTtl ?? 5,
      prefix,
    },
  };
}
