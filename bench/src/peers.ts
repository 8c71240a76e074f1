import { performance } from 'node:perf_hooks';
import { RtmpClient, type RtmpPublisher } from '@rtmp/client';
import { wrapSetDataFrame } from '@rtmp/flv-demux';
import type { RawFlvTag as FlvTag } from '@rtmp/testing';
import { monotonicMs } from './clock.js';
import { videoKey } from './video-key.js';

/**
 * The realtime publisher of the fan-out bench, on `@rtmp/client`. It speaks the FFmpeg dialect (FFmpeg's flashVer and
 * codec flags in connect; releaseStream, FCPublish, createStream, publish), which nginx-rtmp and node-media-server
 * both accept.
 */

const CONNECT_TIMEOUT = 15_000;

type MediaTag = FlvTag & { type: 8 | 9 };

/** Publishes FLV tags in real time (paced by their timestamps), recording when each video message was written. */
export class RealtimePublisher {
  /**
   * Video key -> {@link monotonicMs} when written (a clock the probe process shares); NaN for keys seen twice in
   * one lap (ambiguous).
   */
  readonly sentAt = new Map<number, number>();
  /** Audio + video payload bytes written, with the time of each write, for the expected-bytes window. */
  readonly sent: { at: number; bytes: number }[] = [];
  #client: RtmpClient | undefined;
  #publisher: RtmpPublisher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #lapOf = new Map<number, number>();

  constructor(
    private readonly url: URL,
    private readonly name: string,
    private readonly tags: readonly FlvTag[],
  ) {}

  async start(): Promise<void> {
    const app = this.url.pathname.split('/')[1] ?? 'live';
    const client = new RtmpClient({
      host: this.url.hostname,
      port: Number(this.url.port || 1935),
      app,
      tcUrl: `rtmp://${this.url.host}/${app}`,
      flashVer: 'LNX 9,0,124,2',
      properties: { audioCodecs: 4071, videoCodecs: 252 },
      chunkSize: 4096,
      timeout: CONNECT_TIMEOUT,
      idleTimeout: 0,
    });
    this.#client = client;
    await client.connect();
    const publisher = await client.publish({ name: this.name });
    this.#publisher = publisher;
    const script = this.tags.find((t) => t.type === 18);
    if (script) publisher.write(18, 0, wrapSetDataFrame(script.body));
    this.#loop();
  }

  /** Sends tags whose time has come, looping over the file (timestamps keep increasing across loops). */
  #loop(): void {
    const media = this.tags.filter((t): t is MediaTag => t.type === 8 || t.type === 9);
    const duration = (media[media.length - 1]?.timestamp ?? 0) + 40;
    const t0 = performance.now();
    let index = 0;
    let lap = 0;
    const tick = (): void => {
      const client = this.#client;
      const publisher = this.#publisher;
      const socket = client?.connection?.socket;
      if (this.#stopped || !publisher || publisher.ended || !client?.connected || !socket) return;
      const elapsed = performance.now() - t0;
      socket.cork();
      for (;;) {
        const tag = media[index];
        if (!tag) break;
        const timestamp = tag.timestamp + lap * duration;
        if (timestamp > elapsed) break;
        const now = performance.now();
        if (tag.type === 9) {
          const sent = monotonicMs();
          // Each lap over the file repeats the keys: keep the latest send; a key repeated within one lap is
          // ambiguous and carries no latency sample from then on.
          const key = videoKey(tag.body);
          const seenLap = this.#lapOf.get(key);
          if (seenLap === lap || Number.isNaN(this.sentAt.get(key) ?? 0)) this.sentAt.set(key, Number.NaN);
          else this.sentAt.set(key, sent);
          this.#lapOf.set(key, lap);
        }
        publisher.write(tag.type, timestamp, tag.body);
        this.sent.push({ at: now, bytes: tag.body.length });
        index++;
        if (index === media.length) {
          index = 0;
          lap++;
        }
      }
      socket.uncork();
      this.#timer = setTimeout(tick, 2);
    };
    tick();
  }

  /** Payload bytes written between two performance.now() instants. */
  bytesBetween(from: number, to: number): number {
    let total = 0;
    for (const s of this.sent) if (s.at >= from && s.at < to) total += s.bytes;
    return total;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#client?.destroy();
  }
}
