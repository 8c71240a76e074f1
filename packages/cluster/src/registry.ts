/**
 * The registry a cluster keeps its facts in, behind one small interface so that another engine can be added
 * without touching the relay side: Redis ({@link RedisRegistry}) is the one implemented; NATS KV maps onto the same
 * operations (see the README).
 */

/** Who publishes a stream: the one node that accepted its publisher, and where the others play it from. */
export interface StreamClaim {
  /** The relay key, `<app>/<name>`. */
  readonly key: string;
  /** The id of the node that holds it. */
  readonly node: string;
  /** The node's RTMP address, `rtmp[s]://host[:port]`: other nodes play `<url>/<app>/<name>`. */
  readonly url: string;
  /** When this node's publish of it started (ms since the epoch). */
  readonly since: number;
  /** The holder is draining: another node may take the key over (its publisher is moving there). */
  readonly draining: boolean;
}

/** What {@link ClusterRegistry.claim} decided. */
export type ClaimResult =
  | {
      readonly claimed: true;
      /** The claim it replaced: one of the same node (refreshed) or of a draining node (taken over). */
      readonly previous: StreamClaim | undefined;
    }
  | {
      readonly claimed: false;
      /** The live claim of another node, which stands. */
      readonly holder: StreamClaim;
    };

/** What {@link ClusterRegistry.renew} found. */
export interface RenewResult {
  /** Keys that were missing (expired, or the registry restarted empty) and are set again. */
  readonly reasserted: readonly string[];
  /** Keys another node holds now: the claims that hold them. */
  readonly lost: readonly StreamClaim[];
}

/** A node's load, as it reports it with each heartbeat. */
export interface NodeLoad {
  /** Open RTMP connections (publishers, players, edge pulls of other nodes). */
  readonly connections: number;
  /** Streams published on this node. */
  readonly publishers: number;
  /** Viewers of every protocol. */
  readonly viewers: number;
  /** Bytes per second received (publishers, pulls) over the last heartbeat. */
  readonly bytesInPerSec: number;
  /** Bytes per second sent (players, viewers, other nodes' pulls) over the last heartbeat. */
  readonly bytesOutPerSec: number;
}

/** One stream a node has, in its {@link NodeRecord}. */
export interface NodeStream {
  readonly key: string;
  /** `origin`: published here; `edge`: pulled from the node that holds it. */
  readonly role: 'origin' | 'edge';
  /** Viewers on this node (other nodes' pulls not counted). */
  readonly viewers: number;
}

/** What a node says of itself, refreshed with each heartbeat and gone within the TTL once it stops. */
export interface NodeRecord {
  readonly id: string;
  /** `rtmp[s]://host[:port]` where other nodes and moved publishers reach it. */
  readonly url: string;
  /** Its HTTP address, when it has one (API, viewers). */
  readonly httpUrl: string | null;
  /** `draining`: it is moving its publishers away and takes no new work. */
  readonly state: 'live' | 'draining';
  readonly load: NodeLoad;
  readonly streams: readonly NodeStream[];
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** What a registry reports to {@link ClusterRegistry.subscribe} listeners. */
export type RegistryEvent =
  | {
      /** A key was claimed: published on a node, taken over from a draining one, or re-asserted. */
      readonly type: 'claim';
      readonly claim: StreamClaim;
      /** The node it was taken over from, or null. */
      readonly previous: string | null;
    }
  | { readonly type: 'release'; readonly key: string; readonly node: string }
  /** The registry is reachable again (after {@link RegistryEvent} `unavailable`): re-assert what you hold. */
  | { readonly type: 'available' }
  | { readonly type: 'unavailable'; readonly error: Error };

/**
 * The operations a cluster needs from its registry. Claims and node records expire `ttlMs` after they were last
 * written, so a node that dies leaves nothing behind for longer than that. Every method rejects with a
 * `ClusterError` (`ERR_CLUSTER_REGISTRY_UNAVAILABLE`) when the registry cannot be reached; none waits for it to
 * come back.
 */
export interface ClusterRegistry {
  /** Whether the registry is reachable now. */
  readonly available: boolean;
  /**
   * Claims `claim.key` for `claim.node`, atomically: taken when the key is free, when the same node holds it
   * (refreshed), or when a draining node holds it (taken over); refused when another live node holds it.
   */
  claim(claim: StreamClaim, ttlMs: number): Promise<ClaimResult>;
  /**
   * Refreshes the TTL of the claims a node holds (all of one node), sets again those that are missing, and reports
   * those another node holds now. One round trip whatever their number.
   */
  renew(claims: readonly StreamClaim[], ttlMs: number): Promise<RenewResult>;
  /** Releases `key` if `node` holds it; true when it did. */
  release(key: string, node: string): Promise<boolean>;
  /** The claim of `key`, or undefined when no node holds it. */
  lookup(key: string): Promise<StreamClaim | undefined>;
  /** Every live claim. */
  claims(): Promise<StreamClaim[]>;
  /** Writes a node's record, expiring after `ttlMs`. */
  announce(record: NodeRecord, ttlMs: number): Promise<void>;
  /** Removes a node's record (it is leaving). */
  withdraw(node: string): Promise<void>;
  /** Every node whose record has not expired. */
  nodes(): Promise<NodeRecord[]>;
  /** Claims and releases of every node as they happen (best effort: a heartbeat catches up), and availability. */
  subscribe(listener: (event: RegistryEvent) => void): () => void;
  /** Closes the connections. */
  close(): Promise<void>;
}
