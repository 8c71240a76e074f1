import { once } from 'node:events';
import type { ClientSession, RtmpServer } from '@rtmp/server';
import type { IngestReconnect } from './config.js';
import type { IngestHttpServer } from './http.js';
import type { Logger } from './logger.js';
import type { StreamRegistry } from './streams.js';

/** How long the RTMP listeners get to close their sessions gracefully before shutdown goes on without them. */
const STOP_TIMEOUT_MS = 5000;

/** A cluster node's part of a shutdown with `--reconnect-grace`: where each client goes. */
export interface ShutdownCluster {
  /** Marks the node draining: its streams may be taken over by the nodes their publishers move to. */
  drain(): Promise<void>;
  /** The `tcUrl` each client is sent to (another live node, least loaded first); none for a client left out. */
  planMoves(sessions: readonly ClientSession[]): Promise<Map<ClientSession, string>>;
}

/** What {@link shutDown} stops, in order. */
export interface ShutdownParts {
  /** The RTMP (and RTMPS) listeners. */
  readonly servers: readonly RtmpServer[];
  readonly registry: StreamRegistry;
  readonly http: IngestHttpServer | null;
  readonly reconnect: IngestReconnect;
  readonly log: Logger;
  /** With `--cluster`: clients are sent to other nodes (unless `--reconnect-url` names a target). */
  readonly cluster?: ShutdownCluster | null;
}

/**
 * Stops an ingest server: first moves the clients that follow E-RTMP reconnect requests (with `--reconnect-grace`),
 * then stops accepting and ends every session (players get Play.Stop), finalizes the recordings and closes HTTP.
 */
export async function shutDown(parts: ShutdownParts): Promise<void> {
  const { servers, registry, http, reconnect, log } = parts;
  if (reconnect.graceSec > 0) await moveClients(servers, reconnect, log, parts.cluster ?? null);
  log.info('shutting down: no new connections, closing players, finishing recordings');
  // Sessions close gracefully (Play.Stop to players); never let a stuck peer hold the exit.
  await Promise.race([
    Promise.all(servers.map((server) => server.stop())),
    new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref()),
  ]);
  await registry.shutdown();
  await http?.close();
  log.info('stopped');
}

/**
 * Asks every client that follows E-RTMP reconnect requests to connect again (to `reconnect.tcUrl`, or to the URL it
 * used), then waits until they have all left or `graceSec` passed. The servers keep serving meanwhile: the spec has
 * a client stream on until its next keyframe and leave only once its new connection publishes.
 */
async function moveClients(
  servers: readonly RtmpServer[],
  reconnect: IngestReconnect,
  log: Logger,
  cluster: ShutdownCluster | null,
): Promise<void> {
  // In a cluster the node drains first, so that the node a publisher moves to may take its stream over.
  await cluster?.drain().catch((e: unknown) => log.warn({ err: e }, 'cluster drain failed'));
  const movable = servers.flatMap((server) => [...server.sessions].filter((s) => s.canReconnect));
  const plan =
    cluster === null || reconnect.tcUrl !== null
      ? new Map<ClientSession, string>()
      : await cluster.planMoves(movable);
  const asked: ClientSession[] = [];
  for (const session of movable) {
    const tcUrl = reconnect.tcUrl ?? plan.get(session) ?? null;
    const request = { description: 'The server is shutting down', ...(tcUrl === null ? {} : { tcUrl }) };
    if (session.requestReconnect(request)) asked.push(session);
  }
  if (asked.length === 0) return;
  log.info(
    {
      clients: asked.length,
      graceSec: reconnect.graceSec,
      tcUrl: reconnect.tcUrl ?? undefined,
      nodes: plan.size > 0 ? [...new Set(plan.values())] : undefined,
    },
    'asked clients to reconnect',
  );
  const left = Promise.all(asked.map((s) => (s.closed ? undefined : once(s, 'close'))));
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), reconnect.graceSec * 1000);
  });
  const outcome = await Promise.race([left.then(() => 'left' as const), graceOver]);
  clearTimeout(timer);
  const remaining = asked.filter((s) => !s.closed).length;
  log.info({ moved: asked.length - remaining, remaining, outcome }, 'reconnect grace over');
}

/**
 * Turns SIGINT/SIGTERM into a graceful `close()` and exit code 0 (a second signal exits at once with 1), and an
 * uncaught exception into finalized recordings and exit code 1.
 */
export function exitOnSignals(
  server: { close(): Promise<void>; readonly registry: StreamRegistry },
  log: Logger,
): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'signal received');
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception: finishing recordings and exiting');
    server.registry.shutdown().finally(() => process.exit(1));
  });
}
