import type { DemuxEvent } from './demuxer.js';
import { FlvError } from './errors.js';
import { muxScriptData } from './mux.js';
import type { AmfValue } from './script.js';

/** Which tracks an FLV file announces in its header. */
export interface FlvWriterOptions {
  audio?: boolean;
  video?: boolean;
}

/**
 * Writes FLV files as pieces: the header, then tags with correct PreviousTagSize fields. Bodies are passed through
 * as given (no copy): write the returned pieces in order (e.g. with `writev`).
 */
export class FlvWriter {
  readonly audio: boolean;
  readonly video: boolean;
  private headerWritten = false;

  constructor(options: FlvWriterOptions = {}) {
    this.audio = options.audio ?? false;
    this.video = options.video ?? false;
  }

  /** A writer whose header flags come from the codec events present in `events`. */
  static forEvents(events: Iterable<DemuxEvent>): FlvWriter {
    let audio = false;
    let video = false;
    for (const e of events) {
      if (e.kind === 'codec' || e.kind === 'video' || e.kind === 'audio') {
        if (e.kind === 'video' || (e.kind === 'codec' && e.mediaType === 'video')) video = true;
        else audio = true;
      }
    }
    return new FlvWriter({ audio, video });
  }

  /** The 9-byte file header followed by PreviousTagSize0 (13 bytes). */
  header(): Uint8Array {
    this.headerWritten = true;
    return Uint8Array.of(
      0x46,
      0x4c,
      0x56,
      1,
      (this.audio ? 4 : 0) | (this.video ? 1 : 0),
      0,
      0,
      0,
      9,
      0,
      0,
      0,
      0,
    );
  }

  /**
   * One tag: [11-byte tag header, ...body pieces, 4-byte PreviousTagSize]. The header is prepended automatically
   * before the first tag if {@link FlvWriter.header} was not called.
   * @throws {FlvError} `ERR_FLV_INVALID_ARGUMENT` for a timestamp outside 0..2^32-1 or a body over 16 MiB.
   */
  tag(type: number, timestamp: number, body: Uint8Array | readonly Uint8Array[], streamId = 0): Uint8Array[] {
    const pieces = body instanceof Uint8Array ? [body] : body;
    let size = 0;
    for (const p of pieces) size += p.length;
    if (size > 0xffffff)
      throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `tag body of ${size} bytes exceeds 16 MiB`);
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
      throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `timestamp ${timestamp} outside 0..2^32-1`);
    }
    if (type < 0 || type > 31) throw new FlvError('ERR_FLV_INVALID_ARGUMENT', `tag type ${type}`);
    const h = Uint8Array.of(
      type,
      size >> 16,
      (size >> 8) & 0xff,
      size & 0xff,
      (timestamp >> 16) & 0xff,
      (timestamp >> 8) & 0xff,
      timestamp & 0xff,
      Math.floor(timestamp / 0x1000000) & 0xff,
      (streamId >> 16) & 0xff,
      (streamId >> 8) & 0xff,
      streamId & 0xff,
    );
    const total = size + 11;
    const prev = Uint8Array.of(total >>> 24, (total >> 16) & 0xff, (total >> 8) & 0xff, total & 0xff);
    const out: Uint8Array[] = [];
    if (!this.headerWritten) out.push(this.header());
    out.push(h, ...pieces, prev);
    return out;
  }

  /** An onMetaData script tag (no `@setDataFrame` wrapper: files never carry it). */
  metadata(value: AmfValue, timestamp = 0, name = 'onMetaData'): Uint8Array[] {
    return this.tag(18, timestamp, muxScriptData(name, [value]));
  }
}
