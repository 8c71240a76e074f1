// The hostile client, run as a child process (`node --import tsx attacker.ts '<json>'`) so its load is independent
// of the server's. Prints one JSON line: every scenario's connection, whether and when the server closed it.
import { randomBytes } from 'node:crypto';
import type { AmfValue } from '@rtmp/amf';
import { encodeAmf0 } from '@rtmp/amf';
import { encodeAbort, encodeSetChunkSize, MessageType } from '@rtmp/chunk';
import { sleep } from '@rtmp/testing';
import { RawPeer } from './lib.js';

export interface AttackConfig {
  port: number;
  /** The legitimate live key (publish-to-live-key scenario). */
  liveKey: string;
  /** Connect/close cycles to run. */
  cycles: number;
  /** Connections held open at once. */
  held: number;
  /** How long the held connections stay open (ms). */
  holdMs: number;
  /** Give up waiting for the server to close a hostile connection after this long (ms). */
  waitMs: number;
  /** Repeat the scenario list this many times (soak). */
  rounds: number;
  /** Only these scenarios (default all). */
  only?: string[];
  /** As a child process: print {@link ATTACKER_READY} once loaded, and attack when stdin gets a line (or ends). */
  waitForGo?: boolean;
}

/** The line the child process prints when loaded and waiting for its go (see AttackConfig.waitForGo). */
export const ATTACKER_READY = 'attacker ready';

/** When the server should close the connection: before the handshake timeout, or after the idle timeout. */
export type Expect = 'handshake' | 'idle' | 'soon';

export interface ScenarioResult {
  name: string;
  expect: Expect;
  localPort: number;
  closedByServer: boolean;
  /** ms from the connection's last write (or open, for 'handshake') to the server closing it. */
  msToClose: number;
  bytesReceived: number;
  statusText: string;
  error?: string;
}

export interface AttackReport {
  scenarios: ScenarioResult[];
  cycles: { done: number; failed: number; ms: number; errors: string[] };
  held: { opened: number; connected: number; openAtOnce: number; ms: number };
}

type Scenario = { name: string; expect: Expect; run: (peer: RawPeer, cfg: AttackConfig) => Promise<void> };

function raw(bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

/** A command message whose payload is `name`, `tx`, then `tail` (hand-built AMF0, possibly malformed). */
function commandWith(name: string, tail: Uint8Array): Uint8Array {
  const head = encodeAmf0([name, 1]);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

function record(entries: [string, AmfValue][]): Record<string, AmfValue> {
  const o: Record<string, AmfValue> = Object.create(null);
  for (const [k, v] of entries) o[k] = v;
  return o;
}

/** A fmt 0 chunk header on `csid` (< 64) declaring `length` bytes of `type`. */
function fmt0(csid: number, length: number, type: number, streamId = 1): Uint8Array {
  const h = new Uint8Array(12);
  h[0] = csid & 0x3f;
  h[4] = (length >>> 16) & 0xff;
  h[5] = (length >>> 8) & 0xff;
  h[6] = length & 0xff;
  h[7] = type;
  new DataView(h.buffer).setUint32(8, streamId, true);
  return h;
}

/** A fmt 0 header with a two-byte csid form (64..319) or three-byte form (320..65599). */
function fmt0Wide(csid: number, length: number): Uint8Array {
  const rest = fmt0(0, length, MessageType.Video).subarray(1);
  if (csid < 320) return Uint8Array.from([0, csid - 64, ...rest]);
  const v = csid - 64;
  return Uint8Array.from([1, v & 0xff, v >>> 8, ...rest]);
}

export const SCENARIOS: Scenario[] = [
  { name: 'silent', expect: 'handshake', run: async () => {} },
  {
    name: 'slowloris-handshake',
    expect: 'handshake',
    run: async (peer) => {
      await peer.connected();
      const c0c1 = new Uint8Array(1537);
      c0c1[0] = 3;
      for (let i = 0; i < c0c1.length && !peer.isClosed; i++) {
        peer.write(c0c1.subarray(i, i + 1));
        await Promise.race([sleep(1000), peer.closed()]);
      }
    },
  },
  {
    name: 'stop-mid-c1',
    expect: 'handshake',
    run: async (peer) => {
      await peer.connected();
      const c0c1 = randomBytes(800);
      c0c1[0] = 3;
      peer.write(c0c1);
    },
  },
  {
    name: 'stop-before-c2',
    expect: 'handshake',
    run: async (peer) => {
      await peer.connected();
      const c0c1 = new Uint8Array(1537);
      c0c1[0] = 3;
      peer.write(c0c1);
    },
  },
  {
    name: 'bad-version-byte',
    expect: 'soon',
    run: async (peer) => {
      await peer.connected();
      peer.write(randomBytes(1537).fill(0xff, 0, 1));
    },
  },
  {
    name: 'garbage-after-handshake',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      // 0xff... : fmt 3 on csid 63 before any header on it (no previous header).
      peer.write(new Uint8Array(4096).fill(0xff));
    },
  },
  {
    name: 'random-after-handshake',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.write(randomBytes(4096));
    },
  },
  {
    name: 'set-chunk-size-0',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      peer.write(fmt0(2, 4, MessageType.SetChunkSize, 0));
      peer.write(raw([0, 0, 0, 0]));
    },
  },
  {
    name: 'set-chunk-size-0x80000000',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      peer.write(fmt0(2, 4, MessageType.SetChunkSize, 0));
      peer.write(raw([0x80, 0, 0, 0]));
    },
  },
  {
    name: 'chunk-size-max-then-16MiB-partials',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.send(encodeSetChunkSize(0x7fffffff), 2);
      // Messages declaring the largest length on many chunk streams, each started and never finished.
      for (let csid = 4; csid < 60; csid++) {
        peer.write(fmt0(csid, 0xffffff, MessageType.Video));
        peer.write(randomBytes(16 * 1024));
      }
    },
  },
  {
    name: 'chunk-size-max-then-16MiB-whole',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.send(encodeSetChunkSize(0x7fffffff), 2);
      // Two complete 16 MiB - 1 video messages on a stream that was never created: buffered, then dropped.
      for (let i = 0; i < 2 && !peer.isClosed; i++) {
        peer.write(fmt0(6, 0xffffff, MessageType.Video));
        const body = Buffer.alloc(0xffffff, 0x17);
        peer.write(body);
        await sleep(200);
      }
    },
  },
  {
    name: 'thousands-of-csids',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      for (let csid = 3; csid < 3000 && !peer.isClosed; csid++) {
        peer.write(csid < 64 ? fmt0(csid, 1000, MessageType.Video) : fmt0Wide(csid, 1000));
        peer.write(new Uint8Array(10));
      }
    },
  },
  {
    name: 'interleaved-partials',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      for (let round = 0; round < 4; round++) {
        for (let csid = 4; csid < 40; csid++) {
          if (round === 0) peer.write(fmt0(csid, 60_000, MessageType.Audio));
          else peer.write(raw([0xc0 | csid]));
          peer.write(randomBytes(128));
        }
      }
    },
  },
  {
    name: 'abort-unknown-csids',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      for (const csid of [7, 63, 64, 319, 320, 65599, 65600, 0, 1, 0xffffffff]) {
        peer.send(encodeAbort(csid >>> 0), 2);
      }
    },
  },
  {
    name: 'amf-deep-nesting',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      const depth = 100_000;
      const tail = new Uint8Array(depth * 4);
      for (let i = 0; i < depth; i++) tail.set([0x03, 0x00, 0x01, 0x61], i * 4);
      peer.write(peer.encoder.setChunkSize(65536));
      peer.commandBytes(commandWith('connect', tail));
    },
  },
  {
    name: 'amf-deep-strict-arrays',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      const tail = new Uint8Array(5 * 20_000);
      for (let i = 0; i < 20_000; i++) tail.set([0x0a, 0, 0, 0, 1], i * 5);
      peer.write(peer.encoder.setChunkSize(65536));
      peer.commandBytes(commandWith('connect', tail));
    },
  },
  {
    name: 'amf-huge-counts',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      // Strict array declaring 2^32-1 elements, with 3 bytes behind it.
      peer.commandBytes(commandWith('connect', raw([0x0a, 0xff, 0xff, 0xff, 0xff, 0x05, 0x05, 0x05])));
    },
  },
  {
    name: 'amf-huge-ecma-count',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      // ECMA array count is only a hint; the object then ends normally. Valid (if odd) AMF.
      peer.commandBytes(
        commandWith(
          'connect',
          raw([0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0x03, 0x61, 0x70, 0x70, 0x02, 0, 1, 0x78, 0, 0, 9]),
        ),
      );
    },
  },
  {
    name: 'amf-huge-string',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      peer.commandBytes(commandWith('connect', raw([0x0c, 0xff, 0xff, 0xff, 0xf0, 0x61])));
    },
  },
  {
    name: 'amf-proto-keys',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      const evil = record([['polluted', 'yes']]);
      peer.command('connect', 1, [
        record([
          ['__proto__', evil],
          ['constructor', record([['prototype', evil]])],
          ['app', 'live'],
          ['tcUrl', 'rtmp://127.0.0.1/live'],
        ]),
        record([['__proto__', evil]]),
      ]);
      peer.command('createStream', 2, [record([['__proto__', evil]])]);
      peer.command('publish', 3, [null, '__proto__', 'live'], 1);
    },
  },
  {
    name: 'amf-unknown-marker',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      peer.commandBytes(commandWith('connect', raw([0x03, 0, 3, 0x61, 0x70, 0x70, 0x2a, 0, 0, 9])));
    },
  },
  {
    name: 'command-name-not-string',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      peer.commandBytes(encodeAmf0([42, 1, null]));
    },
  },
  {
    name: 'wrong-types',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.command('connect', 1, [12345, 'x', true]);
      peer.command('connect', Number.NaN, ['not an object']);
      peer.command('createStream', Number.POSITIVE_INFINITY, [42]);
      peer.command('publish', -1, [null, 123, 456], 1);
      peer.command('play', 4, [null, record([['a', 1]]), 'start', 'dur'], 7);
      peer.command('deleteStream', 5, [null, 'one']);
      peer.command('pause', 6, [null, 'yes', 'no'], 1);
      peer.command('receiveVideo', 7, [null, 'maybe'], 1);
      peer.command('FCPublish', 8, [null, [1, 2, 3]]);
      peer.command('releaseStream', 9, [null, new Date(0)]);
      peer.command('getStreamLength', 10, [null, null]);
      peer.command('closeStream', 11, [null], 99);
    },
  },
  {
    name: 'missing-args',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.commandBytes(encodeAmf0(['connect']));
      peer.commandBytes(encodeAmf0(['createStream']));
      peer.commandBytes(encodeAmf0(['publish']));
      peer.commandBytes(encodeAmf0(['play']));
      peer.commandBytes(encodeAmf0(['deleteStream']));
      peer.commandBytes(encodeAmf0(['FCUnpublish']));
    },
  },
  {
    name: 'media-before-connect',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.send({ type: MessageType.Video, streamId: 1, timestamp: 0, payload: randomBytes(5000) }, 6);
      peer.send({ type: MessageType.Audio, streamId: 0, timestamp: 0, payload: randomBytes(50) }, 4);
      peer.send(
        { type: MessageType.DataAmf0, streamId: 1, timestamp: 0, payload: encodeAmf0(['@setDataFrame']) },
        5,
      );
    },
  },
  {
    name: 'tcurl-not-a-url',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.connect('live', '::::not a url %%% \u0000');
      peer.command('createStream', 2, [null]);
      peer.command('publish', 3, [null, 'hostile-tcurl', 'live'], 1);
    },
  },
  {
    name: 'odd-stream-key',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.publish('a/../b\u0000\u202e?token=%zz&&=&x=1&x=2#frag?again=%');
    },
  },
  {
    name: 'empty-and-query-only-key',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.connect();
      peer.command('createStream', 2, [null]);
      peer.command('createStream', 3, [null]);
      peer.command('publish', 4, [null, '', 'live'], 1);
      peer.command('publish', 5, [null, '?x=1', 'live'], 2);
    },
  },
  {
    name: 'false-stream-name',
    expect: 'soon',
    run: async (peer) => {
      await peer.handshake();
      peer.publish(false);
    },
  },
  {
    name: 'publish-live-key',
    expect: 'soon',
    run: async (peer, cfg) => {
      await peer.handshake();
      peer.publish(cfg.liveKey);
      // Media for the live key from the intruder must never reach the real players.
      peer.send(
        { type: MessageType.Video, streamId: 1, timestamp: 0, payload: raw([0x17, 1, 0, 0, 0, 9, 9]) },
        6,
      );
    },
  },
  {
    name: 'play-missing-key',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.play('no-such-key');
    },
  },
  {
    name: 'delete-never-created-stream',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.connect();
      peer.command('deleteStream', 0, [null, 42]);
      peer.command('deleteStream', 0, [null, -1]);
      peer.command('closeStream', 0, [null], 77);
    },
  },
  {
    name: 'too-many-streams',
    expect: 'idle',
    run: async (peer) => {
      await peer.handshake();
      peer.connect();
      for (let i = 0; i < 200; i++) peer.command('createStream', 10 + i, [null]);
    },
  },
];

async function runScenario(s: Scenario, cfg: AttackConfig): Promise<ScenarioResult> {
  const peer = new RawPeer(cfg.port);
  let lastWrite = Date.now();
  const write = peer.socket.write.bind(peer.socket);
  peer.socket.write = ((...args: Parameters<typeof write>) => {
    lastWrite = Date.now();
    return write(...args);
  }) as typeof peer.socket.write;
  let error: string | undefined;
  try {
    await s.run(peer, cfg);
  } catch (e) {
    error = String(e);
  }
  const startedAt = s.expect === 'handshake' ? peer.opened : lastWrite;
  await Promise.race([peer.closed(), sleep(cfg.waitMs)]);
  const result: ScenarioResult = {
    name: s.name,
    expect: s.expect,
    localPort: peer.localPort,
    closedByServer: peer.isClosed,
    msToClose: peer.isClosed ? peer.closedAt - Math.min(startedAt, peer.closedAt) : -1,
    bytesReceived: peer.received,
    statusText: (
      peer.text.match(/NetStream\.[A-Za-z.]+|NetConnection\.[A-Za-z.]+|_error|_result/g) ?? []
    ).join(' '),
  };
  if (error !== undefined) result.error = error;
  peer.destroy();
  return result;
}

async function cycles(cfg: AttackConfig): Promise<AttackReport['cycles']> {
  const started = Date.now();
  let done = 0;
  let failed = 0;
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cfg.cycles) {
      next++;
      const peer = new RawPeer(cfg.port);
      try {
        await peer.handshake();
        peer.connect();
        const t0 = Date.now();
        while (!peer.text.includes('_result') && !peer.isClosed && Date.now() - t0 < 5000) await sleep(2);
        if (!peer.text.includes('_result')) throw new Error('no _result');
        done++;
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(String(e));
      }
      peer.destroy();
      await peer.closed();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { done, failed, ms: Date.now() - started, errors };
}

async function held(cfg: AttackConfig): Promise<AttackReport['held']> {
  const started = Date.now();
  const peers: RawPeer[] = [];
  let connected = 0;
  for (let i = 0; i < cfg.held; i += 50) {
    const batch = Array.from({ length: Math.min(50, cfg.held - i) }, () => new RawPeer(cfg.port));
    peers.push(...batch);
    await Promise.all(
      batch.map(async (p) => {
        try {
          await p.handshake();
          p.connect();
          connected++;
        } catch {
          // counted by the caller as connected < opened
        }
      }),
    );
  }
  // Counted at the moment the last one connected: the server held them all at once.
  const stillOpen = peers.filter((p) => !p.isClosed).length;
  await sleep(cfg.holdMs);
  for (const p of peers) p.destroy();
  await Promise.all(peers.map((p) => p.closed()));
  return { opened: peers.length, connected, openAtOnce: stillOpen, ms: Date.now() - started };
}

export async function attack(cfg: AttackConfig): Promise<AttackReport> {
  const list = SCENARIOS.filter((s) => !cfg.only || cfg.only.includes(s.name));
  const scenarioRuns: Promise<ScenarioResult>[] = [];
  for (let r = 0; r < cfg.rounds; r++) for (const s of list) scenarioRuns.push(runScenario(s, cfg));
  // Scenarios first, then the connection floods: a flood in the same process would slow our own handshakes past the
  // server's handshake timeout and blur what each scenario measures.
  const scenarios = await Promise.all(scenarioRuns);
  const [c, h] = await Promise.all([cycles(cfg), held(cfg)]);
  return { scenarios, cycles: c, held: h };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as AttackConfig;
  const go = cfg.waitForGo
    ? new Promise<void>((resolve) => {
        process.stdin.once('data', () => resolve());
        process.stdin.once('end', () => resolve());
        process.stdout.write(`${ATTACKER_READY}\n`);
      })
    : Promise.resolve();
  go.then(() => attack(cfg)).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}
