import { stat } from 'node:fs/promises';
import { Mp4File, sniffFile } from '@rtmp/mp4';
import { FlvVodSource } from './flv-source.js';

/** A tag a VOD player sends: audio (8), video (9) or script data (18), a timestamp in ms and the FLV tag body. */
export interface VodTag {
  readonly type: number;
  readonly timestamp: number;
  readonly body: Uint8Array;
}

/** A file that can be played from any position, by several players at once. */
export interface VodSource {
  readonly kind: 'flv' | 'mp4';
  readonly durationMs: number;
  /** onMetaData (with the duration) and the sequence headers, then the media from the keyframe at or before `start`. */
  tags(start: number): AsyncIterable<VodTag>;
  close(): void;
}

/** An MP4/MOV file as a VOD source (`@rtmp/mp4`: onMetaData, headers and samples as FLV tags, with seek). */
class Mp4VodSource implements VodSource {
  readonly kind = 'mp4';
  readonly #file: Mp4File;

  constructor(file: Mp4File) {
    this.#file = file;
  }

  get durationMs(): number {
    return this.#file.info.durationMs;
  }

  tags(start: number): AsyncIterable<VodTag> {
    return this.#file.tags({ start });
  }

  close(): void {
    this.#file.close();
  }
}

/** Opens a file as a VOD source by its content (FLV or MP4/MOV); null for anything else. */
export async function openSource(path: string): Promise<VodSource | null> {
  const container = await sniffFile(path);
  if (container === 'flv') return FlvVodSource.open(path);
  if (container === 'mp4') return new Mp4VodSource(await Mp4File.open(path));
  return null;
}

interface Entry {
  /** The file as it was indexed: a changed file is opened again. */
  readonly version: string;
  readonly source: Promise<VodSource | null>;
  users: number;
}

/** A player's use of a shared source; `release()` once done (idempotent). */
export interface VodHandle {
  readonly source: VodSource;
  release(): void;
}

/**
 * The open VOD files, by real path: one source (index, MP4 sample tables) shared by every player of a file, opened
 * by the first and closed when the last one leaves. A file whose size or modification time changed is opened anew
 * for new players (the ones playing it keep the old source until they leave).
 */
export class VodLibrary {
  readonly #entries = new Map<string, Entry>();

  /**
   * The source of `path` for one more player, or null when the file is not media (neither FLV nor MP4/MOV).
   * @throws what opening the file threw (`FlvError`, `Mp4Error`, a file system error)
   */
  async acquire(path: string): Promise<VodHandle | null> {
    const info = await stat(path);
    const version = `${info.size}:${info.mtimeMs}`;
    let entry = this.#entries.get(path);
    if (entry === undefined || entry.version !== version) {
      entry = { version, source: openSource(path), users: 0 };
      this.#entries.set(path, entry);
    }
    const used = entry;
    used.users++;
    let source: VodSource | null;
    try {
      source = await used.source;
    } catch (error) {
      // A failed open is not kept: the next player tries again.
      this.#unuse(path, used);
      throw error;
    }
    if (source === null) {
      this.#unuse(path, used);
      return null;
    }
    let released = false;
    return {
      source,
      release: () => {
        if (released) return;
        released = true;
        this.#unuse(path, used);
      },
    };
  }

  #unuse(path: string, entry: Entry): void {
    entry.users--;
    if (entry.users > 0) return;
    if (this.#entries.get(path) === entry) this.#entries.delete(path);
    entry.source.then((source) => source?.close()).catch(() => {});
  }

  /** Files open now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Closes every file (at shutdown; players still running fail their next read). */
  close(): void {
    for (const [path, entry] of this.#entries) {
      this.#entries.delete(path);
      entry.source.then((source) => source?.close()).catch(() => {});
    }
  }
}
