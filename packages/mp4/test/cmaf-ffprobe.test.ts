import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hasTool, readCsv, readFixture, readOracle } from '@rtmp/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CutPolicy,
  decodeErrors,
  demuxFlv,
  discontinuities,
  ffprobe,
  muxEvents,
  ticksPerSecond,
} from './cmaf-helpers.js';

const hasFfmpeg = hasTool('ffmpeg') && hasTool('ffprobe');
const dir = hasFfmpeg ? mkdtempSync(path.join(tmpdir(), 'mp4-cmaf-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Row {
  type: 'video' | 'audio';
  dts: number;
  pts: number;
  size: number;
  keyframe: boolean;
}

/** ffprobe's packets in milliseconds (rounded from each stream's time base), per media type in decode order. */
async function probeMs(file: string): Promise<{ rows: Row[]; codecs: string[] }> {
  const probed = await ffprobe(file);
  const scale = new Map(probed.streams.map((s) => [s.index, ticksPerSecond(s.time_base) / 1000]));
  const rows = probed.packets.map((p) => ({
    type: p.type,
    dts: Math.round(p.dts / scale.get(p.stream)!),
    pts: Math.round(p.pts / scale.get(p.stream)!),
    size: p.size,
    keyframe: p.keyframe,
  }));
  return { rows, codecs: probed.streams.map((s) => s.codec_name).sort() };
}

const byType = (rows: readonly Row[], type: 'video' | 'audio') =>
  rows.filter((r) => r.type === type).map(({ type: _t, ...r }) => r);

async function write(name: string, policy: CutPolicy, events = demuxFlv(readFixture(name))) {
  const muxed = muxEvents(events, policy);
  const file = path.join(dir, `${path.basename(name)}-${typeof policy === 'string' ? policy : 'parts'}.mp4`);
  writeFileSync(file, muxed.file);
  return { ...muxed, path: file };
}

describe.skipIf(!hasFfmpeg)('CMAF read by FFmpeg, against the .packets.csv oracles', () => {
  const cases: [string, CutPolicy][] = [
    ['small_h264_aac', 'gop'],
    ['extended_ts_h264_aac', 'gop'],
    ['small_h264_aac', { partMs: 250 }],
    ['extended_ts_h264_aac', { partMs: 250 }],
  ];
  for (const [name, policy] of cases) {
    it(`${name}.flv, ${policy === 'gop' ? 'one fragment per GOP' : 'parts of 250 ms'}: every sample as the oracle says, continuous, decodable`, async () => {
      const out = await write(`${name}.flv`, policy);
      const { rows, codecs } = await probeMs(out.path);
      expect(codecs).toEqual(['aac', 'h264']);
      const oracle = readOracle(`${name}.packets.csv`);
      const expected = (type: 'video' | 'audio') =>
        oracle
          .filter((p) => p.type === type)
          .map(({ dts, pts, size, keyframe }) => ({ dts, pts, size, keyframe }));
      expect(byType(rows, 'video')).toEqual(expected('video'));
      expect(byType(rows, 'audio')).toEqual(expected('audio'));
      expect(discontinuities(out.file)).toEqual([]);
      expect(await decodeErrors(out.path)).toBe('');
      if (policy !== 'gop') {
        // 4 s in parts of 250 ms, most of them starting on a non-keyframe (the GOP is 2 s).
        expect(out.fragments.length).toBeGreaterThanOrEqual(15);
        expect(out.fragments.filter((f) => !f.independent).length).toBeGreaterThanOrEqual(12);
        // A part ends at the first frame at or after its 250 ms boundary: at most one 40 ms frame longer.
        for (const f of out.fragments) expect(f.duration).toBeLessThanOrEqual(0.29 + 1e-9);
      } else {
        expect(out.fragments.map((f) => f.independent)).toEqual(out.fragments.map(() => true));
      }
    });
  }

  it('parts of 250 ms decode in order part by part: init + parts up to each one decodes without error', async () => {
    const out = await write('small_h264_aac.flv', { partMs: 250 });
    // Cut the file after part 3, 6 (mid-GOP, non-keyframe starts) and check each prefix decodes cleanly.
    for (const k of [3, 6, 9]) {
      const prefix = path.join(dir, `prefix-${k}.mp4`);
      const chunks = [out.init, ...out.fragments.slice(0, k).flatMap((f) => f.chunks)];
      writeFileSync(prefix, Buffer.concat(chunks));
      expect(await decodeErrors(prefix)).toBe('');
      const { rows } = await probeMs(prefix);
      const samples = out.fragments
        .slice(0, k)
        .reduce((n, f) => n + f.tracks.reduce((m, t) => m + t.sampleCount, 0), 0);
      expect(rows.length).toBe(samples);
    }
  });

  for (const name of ['av1_opus_testsrc', 'av1_opus_mptestsrc']) {
    it(`E-RTMP ${name}.flv (AV1 + Opus): every sample as the tag list says, continuous, decodable`, async () => {
      const out = await write(`enhanced/${name}.flv`, 'gop');
      const { rows, codecs } = await probeMs(out.path);
      expect(codecs).toEqual(['av1', 'opus']);
      const tags = readCsv(`enhanced/${name}.tags.csv`).slice(1);
      // CodedFrames (packet type 1) only; the ExHeader is 5 bytes (flags + FourCC) and every AV1 frame of these
      // files starts with a 2-byte temporal delimiter OBU, which the AV1 ISOBMFF binding leaves out of samples.
      const coded = tags.filter((t) => t[5] === '1');
      const video = coded
        .filter((t) => t[1] === '9')
        .map((t) => ({
          dts: Number(t[2]),
          pts: Number(t[2]),
          size: Number(t[8]) - 5 - 2,
          keyframe: t[4] === '1',
        }));
      const audio = coded
        .filter((t) => t[1] === '8')
        .map((t) => ({ dts: Number(t[2]), pts: Number(t[2]), size: Number(t[8]) - 5, keyframe: true }));
      expect(byType(rows, 'video')).toEqual(video);
      expect(byType(rows, 'audio')).toEqual(audio);
      expect(discontinuities(out.file)).toEqual([]);
      expect(await decodeErrors(out.path)).toBe('');
    });
  }
});
