import { EventEmitter } from 'node:events';
import {
  appendStreamName,
  type BackoffOptions,
  type OriginResolver,
  Puller,
  type PullOptions,
  type RelayPull,
} from '@rtmp/restream';
import {
  type ClientSession,
  type LiveRelay,
  type LiveStreamStats,
  type RelayPublisher,
  type RtmpHandler,
  type RtmpHandlerFactory,
  reject,
} from '@rtmp/server';
import { ClusterError, messageOf } from './errors.js';
import type { ClusterNode, NodeReport } from './node.js';
import type { NodeStream, StreamClaim } from './registry.js';

/** The `flashVer` of the edge pulls' connections: how an origin tells other nodes' pulls from viewers. */
export const EDGE_FLASH_VER = 'rtmp-cluster-edge/1';

/** Options of a {@link ClusterRelay}. */
export interface ClusterRelayOptions {
  /** Milliseconds a pulled key keeps its upstream after its last viewer left (default 10 000). */
  idleTimeout?: number;
  /** Where keys that no node holds are played from (nginx-rtmp's `pull`), if anywhere. */
  fallback?: OriginResolver;
  /** Options of the edge pulls' `RtmpClient`s (TLS `ca` for `rtmps://` node URLs, timeouts...). */
  client?: PullOptions['client'];
  /** Delays between the attempts of a pull while viewers wait. */
  retry?: BackoffOptions;
  /** Turns an origin's play URL into the one played (sign it when plays need a signature). */
  playUrl?: (url: string, key: string) => string;
  /**
   * Milliseconds between the checks of keys that viewers wait for and of the origins of running pulls, a catch-up
   * for registry events that were lost (default: the node's heartbeat interval).
   */
  checkInterval?: number;
}

/** Events of a {@link ClusterRelay}. */
export interface ClusterRelayEvents {
  /** A publish was refused cluster-wide: `holder` publishes the key, or the registry could not be asked (`error`). */
  refused: [key: string, holder: StreamClaim | undefined, error: ClusterError | undefined];
  /** A key's publisher left for another node: this node's viewers stay, fed by a pull from there. */
  handover: [key: string];
  /** A pulled key moved to another node: the pull follows it, the viewers stay. */
  rehome: [key: string, from: string, to: string];
}

/** The origin of a stream on a node: `<node url>/<app>/<name>`. */
export function streamUrl(nodeUrl: string, key: string): string {
  const slash = key.indexOf('/');
  if (slash < 0) return `${nodeUrl}/${key}`;
  return appendStreamName(`${nodeUrl}/${key.slice(0, slash)}`, key.slice(slash + 1));
}

/** Whether `session` is another node's edge pull (it connected with {@link EDGE_FLASH_VER}). */
export function isEdgeSession(session: ClientSession | undefined): boolean {
  const flashVer = session?.connectInfo?.properties.flashVer;
  return typeof flashVer === 'string' && flashVer.startsWith('rtmp-cluster-edge/');
}

/** Viewers of a key on this node: every subscriber except other nodes' edge pulls. */
export function localViewers(stats: LiveStreamStats): number {
  let edges = 0;
  for (const player of stats.playerStats) if (isEdgeSession(player.session)) edges++;
  return stats.players - edges;
}

/**
 * Wires a {@link ClusterNode} to a {@link LiveRelay}, so that a cluster of relays behaves as one:
 *
 * - **One publisher per key, cluster-wide**: {@link ClusterRelay.handler} claims the key before the relay accepts a
 *   publish, refuses it with `NetStream.Publish.BadName` when another node holds it, and the claim is released when
 *   the key is no longer published here.
 * - **Edge pulls**: a key that is not live here and that another node holds is pulled from it by
 *   `@rtmp/restream`'s {@link Puller} (its origin resolver is the registry lookup), once per key however many
 *   viewers, closed `idleTimeout` after the last one left. Viewers that wait for a key get it as soon as a node
 *   claims it.
 * - **Moves without a gap**: when a publisher moves to another node (E-RTMP reconnect while this node drains), this
 *   node's viewers stay and are fed by a pull from the new node from the keyframe the publisher moved at; a node that
 *   pulled the key from the old node follows it to the new one; a node that pulled it and now receives its
 *   publisher hands its viewers from the pull to the publisher.
 */
export class ClusterRelay extends EventEmitter<ClusterRelayEvents> {
  readonly relay: LiveRelay;
  readonly node: ClusterNode;
  /** The edge pulls (and `fallback` pulls). */
  readonly puller: Puller;
  readonly #options: ClusterRelayOptions;
  /** The node each cluster pull was resolved to. */
  readonly #pullOrigin = new Map<string, string>();
  /** Publishes between their claim and the relay's decision. */
  readonly #pending = new Map<string, number>();
  /** Keys this node held that another node holds now. */
  readonly #moved = new Map<string, StreamClaim>();
  /** Keys handed over to a pull: if that pull finds no origin, their waiting viewers get the end of the stream. */
  readonly #handedOver = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  #checking = false;
  #closed = false;
  readonly #onUnpublish = (key: string) => this.#settle(key);
  readonly #onClaim = (claim: StreamClaim) => this.#claimed(claim);
  readonly #onMoved = (key: string, holder: StreamClaim) => void this.#moved.set(key, holder);

  constructor(relay: LiveRelay, node: ClusterNode, options: ClusterRelayOptions = {}) {
    super();
    this.relay = relay;
    this.node = node;
    this.#options = options;
    this.puller = new Puller(relay, {
      origin: (key) => this.origin(key),
      ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      client: { ...options.client, flashVer: EDGE_FLASH_VER },
    });
    this.puller.on('stop', (pull, reason) => this.#pullStopped(pull, reason));
    relay.on('unpublish', this.#onUnpublish);
    node.on('claim', this.#onClaim);
    node.on('moved', this.#onMoved);
    this.#timer = setInterval(() => void this.#check(), options.checkInterval ?? node.heartbeatInterval);
    this.#timer.unref();
  }

  /**
   * The origin resolver of the edge pulls: the node that holds `key`, as `<its url>/<app>/<name>`; `fallback`'s
   * answer for a key no other node holds.
   */
  async origin(key: string): Promise<string | undefined> {
    const claim = await this.node.lookup(key);
    if (claim === undefined || claim.node === this.node.id) {
      this.#pullOrigin.delete(key);
      return this.#options.fallback?.(key);
    }
    this.#pullOrigin.set(key, claim.node);
    const url = streamUrl(claim.url, key);
    return this.#options.playUrl?.(url, key) ?? url;
  }

  /**
   * A handler factory for the RTMP server: `inner` decides first (auth, limits), then the key is claimed in the
   * cluster, then the relay decides as usual (`relay.handler(...)`).
   */
  handler<O>(inner?: RtmpHandlerFactory<O>): RtmpHandlerFactory<O> {
    const relayed = this.relay.handler(this.#claiming(inner));
    return (options, session) => this.#handingOver(relayed(options, session), session);
  }

  /** The streams this node has (published here, or pulled from their node), with their viewers here. */
  streams(): NodeStream[] {
    const streams: NodeStream[] = [];
    for (const stats of this.relay.stats()) {
      const role = this.node.holds(stats.key)
        ? 'origin'
        : stats.publishing && this.#pullOrigin.has(stats.key)
          ? 'edge'
          : undefined;
      if (role !== undefined) streams.push({ key: stats.key, role, viewers: localViewers(stats) });
    }
    return streams;
  }

  /** A {@link NodeReport} with {@link ClusterRelay.streams}, for {@link ClusterNodeOptions.report}. */
  report(load: NodeReport['load']): NodeReport {
    return { load, streams: this.streams() };
  }

  /**
   * Makes `key` live here if another node holds it: starts its pull and waits (at most `timeoutMs`) for it to go
   * live. For viewers that do not subscribe before the key is live (HLS). True when the key is live here.
   */
  async ensureLocal(key: string, timeoutMs: number): Promise<boolean> {
    if (this.relay.isLive(key)) return true;
    let claim: StreamClaim | undefined;
    try {
      claim = await this.node.lookup(key);
    } catch {
      return false;
    }
    if (claim === undefined || claim.node === this.node.id || this.#closed) return this.relay.isLive(key);
    // Listening first: the pull's publish cannot be missed.
    const live = this.relay.whenLive(key, timeoutMs);
    this.puller.pull(key);
    return live;
  }

  /** Stops the pulls and stops following the relay and the node (the node itself is closed by its owner). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.relay.off('unpublish', this.#onUnpublish);
    this.node.off('claim', this.#onClaim);
    this.node.off('moved', this.#onMoved);
    await this.puller.close();
  }

  /** Whether `key` is published here by a local publisher (not by a pull). */
  #publishedHere(key: string): boolean {
    return this.relay.isLive(key) && this.puller.get(key)?.state !== 'live';
  }

  /** After a publish decision or an unpublish: release the claim once nothing here publishes the key. */
  #settle(key: string): void {
    setImmediate(() => {
      if ((this.#pending.get(key) ?? 0) > 0 || !this.node.holds(key) || this.#publishedHere(key)) return;
      void this.node.release(key);
    });
  }

  /** The inner handler, then the cluster claim (before the relay's own check). */
  #claiming<O>(inner: RtmpHandlerFactory<O> | undefined): RtmpHandlerFactory<O> {
    return (options: O, session: ClientSession): RtmpHandler => {
      const user = inner?.(options, session) ?? {};
      return {
        ...user,
        handlePublish: async (streamKey, info) => {
          const decision = await user.handlePublish?.call(user, streamKey, info);
          if ((typeof decision === 'object' && decision !== null) || session.closed) return decision;
          const key = this.relay.keyFor(session, streamKey);
          this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
          try {
            const result = await this.node.claim(key);
            if (!result.claimed) {
              this.emit('refused', key, result.holder, undefined);
              return reject(
                `${streamKey} is already being published on node ${result.holder.node}`,
                'NetStream.Publish.BadName',
              );
            }
            const previous = result.previous;
            if (previous !== undefined && previous.node !== this.node.id) this.#takeFromPull(key);
            return decision;
          } catch (error) {
            const failure =
              error instanceof ClusterError
                ? error
                : new ClusterError('ERR_CLUSTER_REGISTRY_UNAVAILABLE', messageOf(error), { cause: error });
            this.emit('refused', key, undefined, failure);
            return reject(`${streamKey}: the cluster registry cannot be reached (${failure.code})`);
          } finally {
            const left = (this.#pending.get(key) ?? 1) - 1;
            if (left === 0) this.#pending.delete(key);
            else this.#pending.set(key, left);
            this.#settle(key);
          }
        },
      };
    };
  }

  /**
   * The relay's handler, with the move of a publisher: when this node's publisher of a key leaves because the key
   * moved (or while the node drains), its viewers are handed to a pull from the new holder instead of ending.
   */
  #handingOver(relayed: RtmpHandler, session: ClientSession): RtmpHandler {
    const published = new Map<number, string>();
    const leaving = (key: string) => {
      const moved = this.#moved.get(key);
      this.#moved.delete(key);
      if (moved === undefined && this.node.state !== 'draining') return;
      // Nobody watches here (viewers, or other nodes' pulls): the publish just ends.
      if ((this.relay.stats(key)?.players ?? 0) === 0) return;
      this.relay.unpublish(key, session, { notifyPlayers: false });
      this.#pullOrigin.delete(key);
      this.#handedOver.add(key);
      this.puller.pull(key);
      this.emit('handover', key);
    };
    return {
      ...relayed,
      handlePublishStart: (info) => {
        published.set(info.streamId, this.relay.keyFor(session, info.streamKey));
        return relayed.handlePublishStart?.call(relayed, info);
      },
      handleUnpublish: (context) => {
        const key = published.get(context.streamId);
        published.delete(context.streamId);
        if (key !== undefined) leaving(key);
        return relayed.handleUnpublish?.call(relayed, context);
      },
      handleDisconnect: (error) => {
        for (const key of published.values()) leaving(key);
        published.clear();
        return relayed.handleDisconnect?.call(relayed, error);
      },
    };
  }

  #pullStopped(pull: RelayPull, reason: string): void {
    const key = pull.key;
    if (this.puller.get(key) === undefined) this.#pullOrigin.delete(key);
    if (!this.#handedOver.delete(key) || reason !== 'no origin' || this.relay.isLive(key)) return;
    // Nobody publishes the key anywhere: end its viewers as the end of the publish would have.
    const ending: RelayPublisher = { closed: false, close: () => undefined };
    if (this.relay.publish(key, ending)) this.relay.unpublish(key, ending);
  }

  /** This node takes a key over while it pulls it: the pull leaves without ending the viewers. */
  #takeFromPull(key: string): void {
    const pull = this.puller.get(key);
    if (pull === undefined) return;
    if (pull.state === 'live') this.relay.unpublish(key, pull, { notifyPlayers: false });
    this.#pullOrigin.delete(key);
    void pull.stop('published here');
  }

  /** Another node claimed a key: viewers waiting for it get it; a pull from another node follows it. */
  #claimed(claim: StreamClaim): void {
    if (this.#closed) return;
    const key = claim.key;
    const pull = this.puller.get(key);
    if (pull !== undefined) {
      const from = this.#pullOrigin.get(key);
      if (from !== undefined && from !== claim.node) this.#rehome(pull, from, claim.node);
      return;
    }
    if (!this.relay.isLive(key) && (this.relay.stats(key)?.players ?? 0) > 0) this.puller.pull(key);
  }

  #rehome(pull: RelayPull, from: string, to: string): void {
    const key = pull.key;
    if (pull.state === 'live') this.relay.unpublish(key, pull, { notifyPlayers: false });
    this.#pullOrigin.delete(key);
    void pull.stop('moved');
    this.puller.pull(key);
    this.emit('rehome', key, from, to);
  }

  /** The catch-up for lost events: waiting keys whose holder is known, pulls whose holder changed. */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed || !this.node.registry.available) return;
    this.#checking = true;
    try {
      for (const stats of this.relay.stats()) {
        const key = stats.key;
        const pull = this.puller.get(key);
        const from = this.#pullOrigin.get(key);
        const waiting = !stats.publishing && stats.players > 0 && pull === undefined;
        if (!waiting && (pull === undefined || from === undefined)) continue;
        const claim = await this.node.lookup(key);
        if (claim === undefined || claim.node === this.node.id || this.#closed) continue;
        const current = this.puller.get(key);
        if (current === undefined) {
          if (!this.relay.isLive(key) && (this.relay.stats(key)?.players ?? 0) > 0) this.puller.pull(key);
        } else if (from !== undefined && from !== claim.node && current === pull) {
          this.#rehome(current, from, claim.node);
        }
      }
    } catch {
      // The registry went away mid-check: the next check catches up.
    } finally {
      this.#checking = false;
    }
  }
}
