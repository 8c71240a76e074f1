import { describe, expect, it } from 'vitest';
import { StreamStats, type StreamWarning } from '../src/stats.js';

function make(opts: { maxKeyframeIntervalMs?: number; hugeGopBytes?: number } = {}) {
  let t = 1_000_000;
  const warnings: StreamWarning[] = [];
  const stats = new StreamStats({ ...opts, now: () => t, onWarning: (w) => warnings.push(w) });
  return {
    stats,
    warnings,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('StreamStats', () => {
  it('measures fps, keyframe interval and bitrate', () => {
    const { stats, advance } = make();
    for (let i = 0; i < 100; i++) {
      stats.onVideo(i * 40, i % 25 === 0, 1000);
      if (i % 2 === 0) stats.onAudio(i * 40, 250);
      advance(40);
    }
    expect(stats.fps()).toBe(25);
    const snap = stats.snapshot();
    expect(snap.video.keyframeIntervalMs).toBe(1000);
    expect(snap.video.frames).toBe(100);
    expect(snap.audio.frames).toBe(50);
    // 100 kB + 12.5 kB over 4 s = 225 kbit/s
    expect(snap.bitrate).toBe(225_000);
    expect(stats.tick()).toBe(225_000);
    expect(snap.uptimeSec).toBe(4);
  });

  it('falls back to the metadata frame rate', () => {
    const { stats } = make();
    expect(stats.fps()).toBeNull();
    stats.metadataFps = 30;
    expect(stats.fps()).toBe(30);
  });

  it('warns when no keyframe arrives for too long (media time)', () => {
    const { stats, warnings } = make({ maxKeyframeIntervalMs: 10_000 });
    stats.onVideo(0, true, 100);
    for (let ts = 40; ts <= 12_000; ts += 40) stats.onVideo(ts, false, 100);
    expect(warnings.map((w) => w.code)).toEqual(['NO_KEYFRAME']);
    stats.onVideo(12_040, true, 100);
    for (let ts = 12_080; ts <= 23_000; ts += 40) stats.onVideo(ts, false, 100);
    expect(warnings.map((w) => w.code)).toEqual(['NO_KEYFRAME', 'NO_KEYFRAME']);
  });

  it('warns when a stalled stream never sends a keyframe (wall time)', () => {
    const { stats, warnings, advance } = make({ maxKeyframeIntervalMs: 10_000 });
    stats.onVideo(0, false, 100);
    advance(11_000);
    stats.tick();
    expect(warnings.map((w) => w.code)).toEqual(['NO_KEYFRAME']);
  });

  it('warns once when timestamps go backwards, rate limited', () => {
    const { stats, warnings, advance } = make();
    stats.onVideo(1000, true, 1);
    stats.onVideo(500, false, 1);
    stats.onVideo(400, false, 1);
    stats.onAudio(100, 1);
    stats.onAudio(50, 1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'TIMESTAMP_BACKWARDS', details: { track: 'video' } });
    advance(6000);
    stats.onAudio(10, 1);
    expect(warnings).toHaveLength(2);
  });

  it('warns about a huge GOP once per GOP', () => {
    const { stats, warnings } = make({ hugeGopBytes: 5000 });
    stats.onVideo(0, true, 1000);
    for (let i = 1; i < 10; i++) stats.onVideo(i * 40, false, 1000);
    expect(warnings.map((w) => w.code)).toEqual(['HUGE_GOP']);
    stats.onVideo(400, true, 1000);
    expect(warnings).toHaveLength(1);
  });
});
