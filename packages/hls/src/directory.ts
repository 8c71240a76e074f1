import { mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HlsError } from './errors.js';

/**
 * The files of one stream in a folder (`--hls-dir`): init segments, complete segments and a plain (non-LL)
 * playlist that any static web server can serve. Writes are asynchronous and run one after the other, in order;
 * the first failure is kept in {@link HlsDirectory.error} and later writes are skipped (the stream goes on in
 * memory).
 */
export class HlsDirectory {
  private chain: Promise<void>;
  private failure: HlsError | null = null;
  private readonly written = new Set<string>();

  /** @param folder - the stream's own folder, created if needed (e.g. `<hls-dir>/<app>/<key>`) */
  constructor(readonly folder: string) {
    this.chain = mkdir(folder, { recursive: true }).then(
      () => undefined,
      (e: unknown) => this.fail(e),
    );
  }

  /** The first write error, if any. */
  get error(): HlsError | null {
    return this.failure;
  }

  /** Path of a file of this stream. */
  path(name: string): string {
    return join(this.folder, name);
  }

  /** Whether a file was written completely (it can be served from disk). */
  has(name: string): boolean {
    return this.written.has(name);
  }

  /** Writes `chunks` to `name` (one `writev`), then calls `done`. */
  write(name: string, chunks: readonly Uint8Array[], done?: () => void): void {
    this.enqueue(async () => {
      const handle = await open(this.path(name), 'w');
      try {
        await handle.writev([...chunks]);
      } finally {
        await handle.close();
      }
      this.written.add(name);
      done?.();
    });
  }

  /** Replaces `name` atomically (write then rename), for the playlist. */
  replace(name: string, text: string): void {
    this.enqueue(async () => {
      const temp = this.path(`.${name}.tmp`);
      await writeFile(temp, text);
      await rename(temp, this.path(name));
    });
  }

  /** Deletes a file written before. */
  remove(name: string): void {
    this.written.delete(name);
    this.enqueue(() => unlink(this.path(name)).catch(() => undefined));
  }

  /** Deletes the stream's folder and everything in it; resolves when the queued writes and the removal are done. */
  removeAll(): Promise<void> {
    this.written.clear();
    this.enqueue(() => rm(this.folder, { recursive: true, force: true }));
    return this.chain;
  }

  /** Resolves when every queued write is done. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private enqueue(task: () => Promise<unknown>): void {
    this.chain = this.chain.then(async () => {
      if (this.failure !== null) return;
      try {
        await task();
      } catch (e) {
        this.fail(e);
      }
    });
  }

  private fail(e: unknown): void {
    this.failure ??= new HlsError('ERR_HLS_STORE_FAILED', `writing ${this.folder} failed: ${String(e)}`, {
      cause: e,
    });
  }
}
