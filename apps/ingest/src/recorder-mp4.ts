import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { classifyTag, type DemuxEvent, StreamDemuxer } from '@rtmp/flv-demux';
import { type CmafFragment, CmafWriter, concatChunks, Mp4Error } from '@rtmp/mp4';
import { FlvRecorder, type FlvTagType, recordingFileName } from './recorder.js';

/** File formats of `--record-format`. */
export const RECORD_FORMATS = ['flv', 'mp4'] as const;
/** One of {@link RECORD_FORMATS}. */
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/** What the stream registry needs of a recording, whatever its format. */
export interface Recorder {
  /** The file being written (the last one when the recording is split). */
  readonly path: string;
  readonly bytes: number;
  /** Media and data messages received. */
  readonly tags: number;
  /** The first write error, if any (recording stops at the first one). */
  readonly error: Error | null;
  /** Appends one message; `body` may be kept by reference until it is written, so it must not be mutated. */
  write(type: FlvTagType, timestamp: number, body: Uint8Array): void;
  /** Writes what is buffered and closes the file(s). Safe to call more than once. */
  close(): Promise<void>;
}

/** How {@link createRecorder} records. */
export interface RecorderOptions {
  format: RecordFormat;
  /** Start a new file at the first keyframe at or after every `segmentSec` seconds of media (0: one file). */
  segmentSec: number;
  /** Wall-clock start, for the first file's name. */
  start?: Date;
}

/**
 * Opens the recording of one publish in `dir` (created if needed): FLV as before, or fragmented MP4; split into
 * files of `segmentSec` when asked. Never overwrites a file.
 */
export function createRecorder(dir: string, key: string, options: RecorderOptions): Recorder {
  const start = options.start ?? new Date();
  if (options.format === 'mp4') return new Mp4Recorder(dir, key, options.segmentSec, start);
  if (options.segmentSec > 0) return new SegmentedFlvRecorder(dir, key, options.segmentSec, start);
  return FlvRecorder.create(dir, key, start);
}

/** Creates `<dir>/<key>-<YYYYMMDD-HHMMSS>.<ext>` exclusively (`-1`, `-2`... when taken) and returns path and fd. */
function openNew(dir: string, key: string, start: Date, ext: string): { path: string; fd: number } {
  mkdirSync(dir, { recursive: true });
  const name = recordingFileName(key, start).replace(/\.flv$/, `.${ext}`);
  for (let attempt = 0; ; attempt++) {
    const path = join(dir, attempt === 0 ? name : name.replace(/\.(\w+)$/, `-${attempt}.$1`));
    try {
      return { path, fd: openSync(path, 'wx') };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
      throw e;
    }
  }
}

const FRAGMENT_MS = 1000;

/**
 * Records one publish as fragmented MP4 (CMAF): the init segment, then one fragment per GOP or per second,
 * whichever comes first, each written with one `write` the moment it is complete. A file cut short (SIGKILL,
 * power loss) therefore plays up to its last complete fragment; nothing is written at the end that a player
 * needs. The samples are demuxed here and muxed by `@rtmp/mp4`'s {@link CmafWriter}; timestamps start at 0.
 *
 * A codec change the init segment cannot describe, or a new track, starts a new file; so does `segmentSec`.
 */
export class Mp4Recorder implements Recorder {
  /** Every file of this recording, in order. */
  readonly files: string[] = [];
  path = '';
  bytes = 0;
  tags = 0;
  /** Samples the writer refused (malformed or oversized): dropped, the recording goes on. */
  skipped = 0;
  private readonly demuxer = new StreamDemuxer();
  private writer: CmafWriter | null = null;
  private fd: number | null = null;
  private fileBytes = 0;
  private failed: Error | null = null;
  private fragmentStart = 0;
  private segmentStart = 0;
  private closed = false;
  /** `media:track` of the track whose samples place the fragment boundaries. */
  private main: string | null = null;

  constructor(
    private readonly dir: string,
    private readonly key: string,
    private readonly segmentSec: number,
    start: Date,
  ) {
    this.open(start);
  }

  get error(): Error | null {
    return this.failed;
  }

  write(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    if (this.closed || this.failed !== null) return;
    this.tags++;
    for (const event of this.demuxer.push(type, timestamp, body)) {
      try {
        this.event(event);
      } catch (e) {
        if (!(e instanceof Mp4Error)) {
          this.failed = e instanceof Error ? e : new Error(String(e));
          return;
        }
        this.skipped++;
      }
    }
  }

  private event(event: DemuxEvent): void {
    if (event.kind !== 'codec' && event.kind !== 'video' && event.kind !== 'audio') return;
    // The first codec or media message is the recording's time zero (as the FLV recorder rebases).
    if (this.writer === null) {
      const first = event.kind === 'video' ? event.dts : event.timestamp;
      this.writer = new CmafWriter({ timestampOffset: -first });
      this.fragmentStart = first;
      this.segmentStart = first;
    }
    const writer = this.writer;
    if (writer.push(event) === 'reconfigure') {
      // The current init segment cannot describe the change: end this file, start the next with a new one.
      this.emit(writer.flush({ final: true }));
      this.rotate();
      writer.push(event);
      return;
    }
    if (event.kind === 'codec') {
      // Fragments follow the video (the first video track when there are several); audio-only streams the audio.
      const tracks = writer.tracks;
      const main = tracks.find((t) => t.kind === 'video') ?? tracks[0];
      this.main = main === undefined ? null : `${main.kind}:${main.sourceTrack}`;
      return;
    }
    if (this.main !== `${event.kind}:${event.track}`) return;
    const ms = event.kind === 'video' ? event.dts : event.timestamp;
    const sync = event.kind === 'audio' || event.keyframe;
    if (this.segmentSec > 0 && sync && ms - this.segmentStart >= this.segmentSec * 1000) {
      this.emit(writer.flush({ before: ms }));
      this.rotate();
      this.segmentStart = ms;
      this.fragmentStart = ms;
    } else if ((event.kind === 'video' && event.keyframe) || ms - this.fragmentStart >= FRAGMENT_MS) {
      this.emit(writer.flush({ before: ms }));
      this.fragmentStart = ms;
    }
  }

  /** Writes a fragment (after the init segment when the file has none yet): each with one write. */
  private emit(fragment: CmafFragment | null): void {
    if (fragment === null || this.fd === null || this.writer === null) return;
    if (this.fileBytes === 0) this.writeAll(this.writer.initSegment());
    this.writeAll(concatChunks(fragment.chunks));
  }

  private writeAll(bytes: Uint8Array): void {
    if (this.fd === null || this.failed !== null) return;
    try {
      // One write(2) for a regular file; the loop only covers a short write (disk full, a signal).
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
      this.fileBytes += bytes.length;
      this.bytes += bytes.length;
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
    }
  }

  private open(start: Date): void {
    const { path, fd } = openNew(this.dir, this.key, start, 'mp4');
    this.path = path;
    this.fd = fd;
    this.fileBytes = 0;
    this.files.push(path);
  }

  /** Closes the current file (removed when nothing was written to it). */
  private closeFile(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
      if (this.fileBytes === 0) {
        unlinkSync(this.path);
        this.files.pop();
      }
    } catch (e) {
      this.failed ??= e instanceof Error ? e : new Error(String(e));
    }
    this.fd = null;
  }

  private rotate(): void {
    this.closeFile();
    try {
      this.open(new Date());
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        this.emit(this.writer?.flush({ final: true }) ?? null);
      } catch (e) {
        this.failed ??= e instanceof Error ? e : new Error(String(e));
      }
      this.closeFile();
      if (this.files.length > 0) this.path = this.files[this.files.length - 1]!;
    }
    return Promise.resolve();
  }
}

/**
 * FLV recording split into files of `segmentSec`: each file starts at a keyframe (or, without video, an audio
 * frame) with the stream's metadata and current codec configurations written again, so each plays on its own.
 */
export class SegmentedFlvRecorder implements Recorder {
  /** Every file of this recording, in order. */
  readonly files: string[] = [];
  private current: FlvRecorder;
  private closedBytes = 0;
  private closedTags = 0;
  private firstError: Error | null = null;
  /** The last configuration tag of each (media, tracks), replayed at the start of every file. */
  private readonly configs = new Map<string, { type: FlvTagType; body: Uint8Array }>();
  private metadata: Uint8Array | null = null;
  private segmentStart: number | null = null;
  private hasVideo = false;

  constructor(
    private readonly dir: string,
    private readonly key: string,
    private readonly segmentSec: number,
    start: Date,
  ) {
    this.current = FlvRecorder.create(dir, key, start);
    this.files.push(this.current.path);
  }

  get path(): string {
    return this.current.path;
  }

  get bytes(): number {
    return this.closedBytes + this.current.bytes;
  }

  get tags(): number {
    return this.closedTags + this.current.tags;
  }

  get error(): Error | null {
    return this.firstError ?? this.current.error;
  }

  write(type: FlvTagType, timestamp: number, body: Uint8Array): void {
    const cls = classifyTag(type, body);
    if (type === 18) this.metadata = body.slice();
    if (type === 9) this.hasVideo = true;
    if (cls !== null) {
      const key = `${type}:${cls.tracks.map((t) => t.track).join(',')}`;
      if (cls.kind === 'config') this.configs.set(key, { type, body: body.slice() });
      else if (cls.kind === 'sequenceEnd') this.configs.delete(key);
    }
    this.segmentStart ??= timestamp;
    const start =
      cls !== null && (cls.kind === 'keyframe' || (!this.hasVideo && type === 8 && cls.kind === 'frame'));
    if (start && timestamp - this.segmentStart >= this.segmentSec * 1000) {
      this.rotate(timestamp);
      this.segmentStart = timestamp;
    }
    this.current.write(type, timestamp, body);
  }

  private rotate(timestamp: number): void {
    let next: FlvRecorder;
    try {
      next = FlvRecorder.create(this.dir, this.key, new Date());
    } catch (e) {
      // Keep writing the current file rather than lose the stream.
      this.firstError ??= e instanceof Error ? e : new Error(String(e));
      return;
    }
    void this.current.close();
    this.firstError ??= this.current.error;
    this.closedBytes += this.current.bytes;
    this.closedTags += this.current.tags;
    this.current = next;
    this.files.push(next.path);
    if (this.metadata !== null) this.current.write(18, timestamp, this.metadata);
    for (const { type, body } of this.configs.values()) this.current.write(type, timestamp, body);
  }

  close(): Promise<void> {
    return this.current.close();
  }
}
