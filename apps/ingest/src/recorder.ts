import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { FlvWriter } from '@rtmp/flv-demux';

/** FLV tag types recorded. */
export type FlvTagType = 8 | 9 | 18;

// AMF0 string "@setDataFrame": encoders send metadata wrapped in it; files and players want the bare onMetaData.
const SET_DATA_FRAME = Uint8Array.of(
  0x02,
  0x00,
  0x0d,
  ...Array.from('@setDataFrame', (c) => c.charCodeAt(0)),
);

/** Bytes a recording may hold in memory waiting for the disk before it is abandoned. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** Strips a leading AMF0 `"@setDataFrame"` string from a data message, returning a view. */
export function stripSetDataFrame(payload: Uint8Array): Uint8Array {
  if (payload.length < SET_DATA_FRAME.length) return payload;
  for (let i = 0; i < SET_DATA_FRAME.length; i++) if (payload[i] !== SET_DATA_FRAME[i]) return payload;
  return payload.subarray(SET_DATA_FRAME.length);
}

/** Builds a file name from a stream key and start time: `<key>-<YYYYMMDD-HHMMSS>.flv`, safe on every OS. */
export function recordingFileName(key: string, start: Date): string {
  const safe =
    key
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 100) || 'stream';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp =
    `${start.getUTCFullYear()}${p(start.getUTCMonth() + 1)}${p(start.getUTCDate())}-` +
    `${p(start.getUTCHours())}${p(start.getUTCMinutes())}${p(start.getUTCSeconds())}`;
  return `${safe}-${stamp}.flv`;
}

/**
 * Writes one publish to an FLV file, tag by tag, so that the file is valid at every tag boundary: a crash of the
 * publisher or of the server leaves a playable file. Timestamps are rebased so the file starts at 0.
 */
export class FlvRecorder {
  /** Absolute path of the file. */
  readonly path: string;
  tags = 0;
  bytes = 0;
  private readonly out: WriteStream;
  private readonly flv = new FlvWriter({ audio: true, video: true });
  private base: number | null = null;
  private failed: Error | null = null;
  private closed: Promise<void> | null = null;

  private constructor(path: string, out: WriteStream) {
    this.path = path;
    this.out = out;
    out.on('error', (e) => {
      this.failed ??= e;
    });
    const header = this.flv.header();
    out.write(header);
    this.bytes += header.length;
  }

  /**
   * Opens a new recording in `dir` (created if needed); never overwrites an existing file. Synchronous on purpose:
   * a publisher pushing faster than real time can keep the event loop busy long enough to delay an asynchronous
   * open by hundreds of milliseconds, and every tag of that time would have to be buffered.
   */
  static create(dir: string, key: string, start: Date = new Date()): FlvRecorder {
    mkdirSync(dir, { recursive: true });
    const name = recordingFileName(key, start);
    for (let attempt = 0; ; attempt++) {
      const file = join(dir, attempt === 0 ? name : name.replace(/\.flv$/, `-${attempt}.flv`));
      let fd: number;
      try {
        fd = openSync(file, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw e;
      }
      return new FlvRecorder(file, createWriteStream(file, { fd }));
    }
  }

  /** The first write error, if any (recording stops at the first one). */
  get error(): Error | null {
    return this.failed;
  }

  /** Appends one tag; `body` is kept by reference until written, so it must not be mutated afterwards. */
  write(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    if (this.failed !== null || this.closed !== null) return;
    if (type === 18) body = stripSetDataFrame(body);
    if (body.length > 0xffffff) return;
    this.base ??= timestamp;
    let ts = (timestamp - this.base) >>> 0;
    // Serial arithmetic: a timestamp slightly before the base (audio ahead of video) must not become ~49 days.
    if (ts > 0x7fffffff) ts = 0;
    if (this.out.writableLength > MAX_PENDING_BYTES) {
      // The disk cannot keep up: stop this recording rather than buffer without bound.
      this.failed = new Error(`recording fell ${this.out.writableLength} bytes behind the disk; stopped`);
      return;
    }
    const pieces = this.flv.tag(type, ts, body);
    this.out.cork();
    for (const p of pieces) {
      this.out.write(p);
      this.bytes += p.byteLength;
    }
    process.nextTick(() => this.out.uncork());
    this.tags++;
  }

  /** Flushes and closes the file. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((res) => {
      if (this.out.destroyed) {
        res();
        return;
      }
      // 'close' (not 'finish'): the descriptor is released, so the file is complete for readers.
      this.out.once('close', () => res());
      this.out.end();
    });
    return this.closed;
  }
}
