/**
 * The latency probe process: a few players in their own Node process, away from the harness's event loop that
 * carries hundreds of players (which would add its own delay to every receipt time). It records, per video
 * message, the content key and the CLOCK_MONOTONIC time of receipt and streams them to the harness, which
 * matches them with the publisher's send times. Started by probes.ts with `fork`.
 */
import { monotonicMs } from './clock.js';
import { LitePlayer } from './lite-player.js';
import type { FromProbes, ToProbes } from './probe-protocol.js';

/** Samples travel to the harness in batches, so IPC costs the probes little and the harness matches them soon. */
const FLUSH_EVERY = 250;

const players = new Map<number, LitePlayer>();
let samples: number[] = [];
let flushTimer: NodeJS.Timeout | undefined;
let cpu0: NodeJS.CpuUsage | undefined;
let t0 = 0;

function send(message: FromProbes): void {
  process.send?.(message);
}

function flush(): void {
  if (samples.length === 0) return;
  send({ type: 'samples', samples });
  samples = [];
}

const onVideo = (key: number, receivedAt: number): void => {
  samples.push(key, receivedAt);
};

process.on('message', (message: ToProbes) => {
  switch (message.type) {
    case 'join': {
      const player = new LitePlayer(new URL(message.url), message.stream, onVideo);
      players.set(message.id, player);
      player.start().then(
        () => send({ type: 'joined', id: message.id }),
        (error: unknown) => {
          player.stop();
          players.delete(message.id);
          send({ type: 'failed', id: message.id, error: String(error) });
        },
      );
      break;
    }
    case 'counting':
      for (const player of players.values()) player.counting = message.on;
      if (message.on) {
        cpu0 = process.cpuUsage();
        t0 = monotonicMs();
        flushTimer = setInterval(flush, FLUSH_EVERY);
      } else {
        clearInterval(flushTimer);
        flush();
        const cpu = process.cpuUsage(cpu0);
        send({
          type: 'report',
          players: [...players].map(([id, p]) => ({ id, bytes: p.bytes, closedEarly: p.closedEarly })),
          cpuPercent: ((cpu.user + cpu.system) / 1e3 / (monotonicMs() - t0)) * 100,
        });
      }
      break;
    case 'stop':
      for (const player of players.values()) player.stop();
      process.disconnect();
      break;
  }
});

// The harness went away (or asked us to stop): nothing else keeps this process alive once the sockets close.
process.on('disconnect', () => {
  clearInterval(flushTimer);
  for (const player of players.values()) player.stop();
});

send({ type: 'ready' });
