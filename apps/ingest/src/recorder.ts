import { closeSync, mkdirSync, openSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { FlvWriter, stripSetDataFrame } from '@rtmp/flv-demux';

/** FLV tag types recorded. */
export type FlvTagType = 8 | 9 | 18;

/** `name` as a file or folder name safe on every OS: `A-Z a-z 0-9 . _ -` kept, the rest `_`, no leading dot. */
export function safeFileName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 100) || 'stream'
  );
}

/** Builds a file name from a stream key and start time: `<key>-<YYYYMMDD-HHMMSS>.flv`, safe on every OS. */
export function recordingFileName(key: string, start: Date): string {
  const safe = safeFileName(key);
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
  private fd: number | null;
  private readonly flv = new FlvWriter({ audio: true, video: true });
  private base: number | null = null;
  private failed: Error | null = null;
  private queue: Uint8Array[] = [];
  private scheduled = false;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
    this.push(this.flv.header());
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
      try {
        return new FlvRecorder(file, openSync(file, 'wx'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw e;
      }
    }
  }

  /** The first write error, if any (recording stops at the first one). */
  get error(): Error | null {
    return this.failed;
  }

  /** Appends one tag; `body` is kept by reference until the next flush, so it must not be mutated meanwhile. */
  write(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    if (this.failed !== null || this.fd === null) return;
    // Encoders send metadata wrapped in @setDataFrame; files and players want the bare onMetaData.
    if (type === 18) body = stripSetDataFrame(body);
    if (body.length > 0xffffff) return;
    this.base ??= timestamp;
    let ts = (timestamp - this.base) >>> 0;
    // Serial arithmetic: a timestamp slightly before the base (audio ahead of video) must not become ~49 days.
    if (ts > 0x7fffffff) ts = 0;
    for (const p of this.flv.tag(type, ts, body)) this.push(p);
    this.tags++;
  }

  private push(piece: Uint8Array): void {
    this.queue.push(piece);
    this.bytes += piece.byteLength;
    if (!this.scheduled) {
      this.scheduled = true;
      // One writev per event-loop turn: every message of this turn's socket reads in one system call.
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes what is queued, synchronously like nginx-rtmp's recorder: a write to the page cache takes microseconds,
   * whereas a WriteStream's one-at-a-time thread-pool writes fell seconds behind a fast publisher (see README).
   */
  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (this.fd === null || this.failed !== null || queue.length === 0) return;
    try {
      // writev takes at most IOV_MAX (1024) buffers per call and may write less than asked.
      for (let i = 0; i < queue.length; i += 1024) {
        const part = queue.slice(i, i + 1024);
        let total = 0;
        for (const p of part) total += p.byteLength;
        let done = writevSync(this.fd, part);
        if (done < total) {
          const rest = Buffer.concat(part).subarray(done);
          while (done < total) done += writeSync(this.fd, rest, done - (total - rest.byteLength));
        }
      }
    } catch (e) {
      this.failed = e as Error;
    }
  }

  /** Flushes and closes the file (complete for any reader once this resolves). Safe to call more than once. */
  close(): Promise<void> {
    if (this.fd !== null) {
      this.flush();
      try {
        closeSync(this.fd);
      } catch (e) {
        this.failed ??= e as Error;
      }
      this.fd = null;
    }
    return Promise.resolve();
  }
}
