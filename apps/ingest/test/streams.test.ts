import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamDemuxer } from '@rtmp/flv-demux';
import { FIXTURES, hasTool, parseFlvTags, probeFrames } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { IngestMetrics } from '../src/metrics.js';
import { DemuxProbe } from '../src/probe.js';
import { StreamRegistry } from '../src/streams.js';

const log = createLogger({ level: 'silent', pretty: false });

async function registry(extra: string[] = []) {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-reg-'));
  const action = loadConfig(['--record-dir', dir, ...extra], {}, dir);
  if (action.kind !== 'run') throw new Error('config');
  const metrics = new IngestMetrics({ defaultMetrics: false });
  const reg = new StreamRegistry(
    action.config,
    log,
    metrics,
    (stats, l) => new DemuxProbe(new StreamDemuxer(), stats, l),
  );
  return { reg, dir, metrics };
}

const tags = parseFlvTags(readFileSync(join(FIXTURES, 'small_h264_aac.flv')));

describe('StreamRegistry', () => {
  it('records a publish, serves it in the API, and finalizes the file on end', async () => {
    const { reg, dir, metrics } = await registry();
    const s = reg.begin('live', 'cam1');
    expect(reg.get('live', 'cam1')).toBe(s);
    for (const t of tags) s.media(t.type as 8 | 9 | 18, t.timestamp, t.body);
    const api = reg.api();
    expect(api).toHaveLength(1);
    expect(api[0]).toMatchObject({ app: 'live', key: 'cam1', resolution: '320x240', fps: 25 });
    expect(api[0]!.codecs[1]).toBe('mp4a.40.2');
    await reg.end(s, 'unpublish');
    expect(reg.api()).toEqual([]);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cam1-\d{8}-\d{6}\.flv$/);
    expect(parseFlvTags(readFileSync(join(dir, files[0]!)))).toHaveLength(tags.length);
    if (hasTool('ffprobe')) expect(probeFrames(join(dir, files[0]!)).video).toBe(100);
    expect(await metrics.scrape()).toMatch(/rtmp_recordings_total 1/);
  });

  it('finalizes every stream on shutdown', async () => {
    const { reg, dir } = await registry();
    const a = reg.begin('live', 'a');
    const b = reg.begin('live', 'b');
    await new Promise((r) => setTimeout(r, 50));
    for (const t of tags.slice(0, 50)) {
      a.media(t.type as 8 | 9 | 18, t.timestamp, t.body);
      b.media(t.type as 8 | 9 | 18, t.timestamp, t.body);
    }
    await reg.shutdown();
    expect(reg.all()).toEqual([]);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    for (const f of files) expect(parseFlvTags(readFileSync(join(dir, f)))).toHaveLength(50);
  });

  it('does not record with --no-record', async () => {
    const { reg, dir } = await registry(['--no-record']);
    const s = reg.begin('live', 'x');
    s.media(9, 0, tags[1]!.body);
    await reg.end(s, 'unpublish');
    expect(readdirSync(dir)).toEqual([]);
  });
});
