import { join } from 'node:path';
import type { LiveRelay, RelayItem, RelaySubscriber } from '@rtmp/server';
import type { IngestConfig } from './config.js';
import type { Logger } from './logger.js';
import type { IngestMetrics } from './metrics.js';
import { safeFileName } from './recorder.js';
import { createRecorder, type Recorder } from './recorder-mp4.js';
import type { StreamRegistry } from './streams.js';

/** A finished recording, as `record_done` reports it. */
export interface RecordingDone {
  app: string;
  key: string;
  path: string;
  bytes: number;
  /** The write error that stopped it, if any. */
  error: string | null;
  /** `publish` (`--record`, ended with the publish) or `api` (started and stopped through the control API). */
  startedBy: 'publish' | 'api';
}

/** Answers of {@link RecordingControl.start} and {@link RecordingControl.stop}. */
export type RecordingAnswer =
  | { ok: true; path: string; bytes: number }
  | { ok: false; status: 404 | 409 | 500; error: string };

/**
 * A recording started through the control API: a relay subscriber, so it starts like a new player, with the
 * metadata, every track's configuration and the GOP from its keyframe (a recording of a stream that is already live
 * decodes from its first frame). The metadata and configurations are written with the timestamp of the first frame,
 * so that the file starts at 0.
 */
class RelayRecording implements RelaySubscriber {
  readonly protocol = 'record';
  #headers: RelayItem[] | undefined = [];

  constructor(
    readonly recorder: Recorder,
    private readonly finished: (recording: RelayRecording) => void,
  ) {}

  send(item: RelayItem): void {
    const { message } = item;
    const type = message.type;
    if (type !== 8 && type !== 9 && type !== 18) return;
    const headers = this.#headers;
    if (headers !== undefined) {
      const media = item.kind === 'keyframe' || item.kind === 'frame' || item.kind === 'unknown';
      if (!media) {
        headers.push(item);
        return;
      }
      this.#headers = undefined;
      for (const header of headers) {
        const headerType = header.message.type;
        if (headerType === 8 || headerType === 9 || headerType === 18) {
          this.recorder.write(headerType, message.timestamp, header.message.payload);
        }
      }
    }
    this.recorder.write(type, message.timestamp, message.payload);
  }

  end(): void {
    this.finished(this);
  }

  close(): void {
    this.finished(this);
  }
}

/**
 * Starts and stops recordings on request (`POST`/`DELETE /api/streams/{app}/{key}/recording`), beside `--record`'s,
 * and reports every finished recording (`record_done`): those of the control API, and `--record`'s through the
 * registry's hook.
 */
export class RecordingControl {
  readonly #recordings = new Map<string, { app: string; key: string; recording: RelayRecording }>();

  constructor(
    private readonly config: IngestConfig,
    private readonly relay: LiveRelay,
    private readonly registry: StreamRegistry,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
    private readonly done: (recording: RecordingDone) => void,
  ) {}

  /**
   * Starts recording the live stream `<app>/<key>`: published here, or pulled here (`--pull`, a cluster edge; the
   * recording, a relay subscriber, keeps the pull open until it stops).
   */
  start(app: string, key: string): RecordingAnswer {
    const stream = this.registry.get(app, key) ?? this.registry.pulledStream(`${app}/${key}`);
    if (stream === undefined || !this.relay.isLive(`${app}/${key}`)) {
      return { ok: false, status: 404, error: `${app}/${key} is not being published` };
    }
    if (stream.recorder !== null || this.#recordings.has(`${app}/${key}`)) {
      return { ok: false, status: 409, error: `${app}/${key} is already being recorded` };
    }
    let recorder: Recorder;
    try {
      const dir =
        this.config.apps.length > 1 ? join(this.config.recordDir, safeFileName(app)) : this.config.recordDir;
      recorder = createRecorder(dir, key, {
        format: this.config.recordFormat,
        segmentSec: this.config.recordSegmentSec,
      });
    } catch (e) {
      this.metrics.error('ERR_INGEST_RECORD_OPEN');
      this.log.error({ err: e, app, key }, 'cannot open recording file');
      return { ok: false, status: 500, error: 'cannot open the recording file' };
    }
    const recording = new RelayRecording(recorder, (r) => void this.#finish(`${app}/${key}`, r));
    this.#recordings.set(`${app}/${key}`, { app, key, recording });
    this.relay.subscribe(`${app}/${key}`, recording);
    this.log.info({ app, key, file: recorder.path }, 'recording started (control API)');
    return { ok: true, path: recorder.path, bytes: 0 };
  }

  /** The file of the control API's recording of `<app>/<key>` in progress, if any (for `/api/streams`). */
  pathOf(app: string, key: string): string | null {
    return this.#recordings.get(`${app}/${key}`)?.recording.recorder.path ?? null;
  }

  /** Stops the recording of `<app>/<key>`, whoever started it; resolves once the file is complete. */
  async stop(app: string, key: string): Promise<RecordingAnswer> {
    const ours = this.#recordings.get(`${app}/${key}`);
    if (ours !== undefined) {
      this.relay.unsubscribe(`${app}/${key}`, ours.recording);
      const rec = ours.recording.recorder;
      await this.#finish(`${app}/${key}`, ours.recording);
      return { ok: true, path: rec.path, bytes: rec.bytes };
    }
    const stream = this.registry.get(app, key);
    const rec = stream?.recorder ?? null;
    if (stream === undefined || rec === null)
      return { ok: false, status: 404, error: `${app}/${key} is not being recorded` };
    // A --record recording: taken from the stream, so that its end does not finish it a second time.
    stream.recorder = null;
    await rec.close();
    this.#recorded(app, key, rec, 'publish');
    return { ok: true, path: rec.path, bytes: rec.bytes };
  }

  /** Stops every recording of the control API (shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.#recordings.values()].map(({ app, key }) => this.stop(app, key)));
  }

  /** Reports a `--record` recording the registry finalized (and counted) at the end of its publish. */
  finalized(app: string, key: string, rec: Recorder): void {
    this.done({
      app,
      key,
      path: rec.path,
      bytes: rec.bytes,
      error: rec.error?.message ?? null,
      startedBy: 'publish',
    });
  }

  /** Counts and reports a recording this class finalized. */
  #recorded(app: string, key: string, rec: Recorder, startedBy: 'publish' | 'api'): void {
    if (rec.error === null) this.metrics.recordings.inc();
    else this.metrics.error('ERR_INGEST_RECORD_WRITE');
    this.done({ app, key, path: rec.path, bytes: rec.bytes, error: rec.error?.message ?? null, startedBy });
  }

  async #finish(id: string, recording: RelayRecording): Promise<void> {
    const entry = this.#recordings.get(id);
    if (entry?.recording !== recording) return;
    this.#recordings.delete(id);
    await recording.recorder.close();
    this.log.info(
      { app: entry.app, key: entry.key, file: recording.recorder.path },
      'recording finalized (control API)',
    );
    this.#recorded(entry.app, entry.key, recording.recorder, 'api');
  }
}
