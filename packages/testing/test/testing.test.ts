import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allCaptures,
  CuttableProxy,
  chunkReads,
  concat,
  cpuSeconds,
  directionBytes,
  FIXTURES,
  fixture,
  freePort,
  fromHex,
  HANDSHAKE_BYTES,
  hasFfmpegEncoder,
  hasNginxRtmp,
  hasTool,
  memory,
  parseFlvTags,
  readCapture,
  readCsv,
  readFixture,
  readOracle,
  run,
  sameBytes,
  selfSignedCert,
  splitAt,
  startNginxRtmp,
  toHex,
  toolAvailable,
  until,
  waitFor,
  waitForPort,
} from '../src/index.js';

describe('fixtures and captures', () => {
  const repoRoot = path.resolve(import.meta.dirname, '../../..');

  it("finds the repository's own fixtures folder (or $RTMP_FIXTURES)", () => {
    expect(existsSync(fixture('small_h264_aac.flv'))).toBe(true);
    expect(FIXTURES).toBe(process.env.RTMP_FIXTURES || path.join(repoRoot, 'fixtures'));
  });

  it('no tracked file reads from a folder beside the repository', () => {
    // A clone has nothing beside it: the fixtures once lived in a sibling folder and a clone could not test itself.
    const sibling = ['..', 'shared'].join('/');
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\0')
      .filter((f) => /\.(ts|mts|mjs|js|json|md|sh|yaml)$/.test(f) || f.startsWith('.ci/'));
    const offenders = files.filter(
      (f) =>
        existsSync(path.join(repoRoot, f)) && readFileSync(path.join(repoRoot, f), 'utf8').includes(sibling),
    );
    expect(offenders).toEqual([]);
  });

  it.each(['av1_opus_testsrc', 'av1_opus_mptestsrc'])(
    'enhanced/%s.tags.csv agrees with the minimal FLV reader (type, timestamp, ExHeader, packet type, FourCC, size)',
    (name) => {
      const [header, ...rows] = readCsv(`enhanced/${name}.tags.csv`);
      const col = (n: string) => header?.indexOf(n) ?? -1;
      const tags = parseFlvTags(readFixture(`enhanced/${name}.flv`));
      expect(tags.length).toBe(rows.length);
      tags.forEach((tag, i) => {
        const row = rows[i] ?? [];
        expect(String(tag.type)).toBe(row[col('tag_type')]);
        expect(String(tag.timestamp)).toBe(row[col('timestamp_ms')]);
        expect(String(tag.body.length)).toBe(row[col('body_size')]);
        if (tag.type === 18) return;
        // E-RTMP: the top bit of the first byte (video) or sound format 9 (audio) marks an extended header.
        const ex = tag.type === 9 ? tag.body[0]! >> 7 === 1 : tag.body[0]! >> 4 === 9;
        expect(ex ? '1' : '').toBe(row[col('ex_header')] === '1' ? '1' : '');
        if (!ex) return;
        expect(String(tag.body[0]! & 0x0f)).toBe(row[col('packet_type')]);
        if (tag.type === 9) expect(String((tag.body[0]! >> 4) & 7)).toBe(row[col('frame_type')]);
        expect(tag.body.toString('latin1', 1, 5)).toBe(row[col('fourcc_or_codec')]);
      });
    },
  );

  it('reads a capture by name or by path, both directions starting with version 3', () => {
    const byName = readCapture('ffmpeg-publish-h264-aac.rtmpcap');
    const byPath = readCapture(fixture('captures/ffmpeg-publish-h264-aac.rtmpcap'));
    expect(byName.length).toBe(byPath.length);
    expect(byName[0]?.dir).toBe(byName[0]?.direction);
    for (const d of [0, 1] as const) expect(directionBytes(byName, d, 1)[0]).toBe(3);
    const reads = chunkReads(byName, 0);
    const total = reads.reduce((n, r) => n + r.length, 0);
    expect(total).toBe(directionBytes(byName, 0).length - HANDSHAKE_BYTES);
    expect(allCaptures().size).toBeGreaterThanOrEqual(4);
  });

  it('the minimal FLV reader agrees with the ffprobe oracle', () => {
    const tags = parseFlvTags(readFixture('small_h264_aac.flv'));
    const oracle = readOracle('small_h264_aac.packets.csv');
    // Media tags minus sequence headers and FFmpeg's end-of-sequence tag (packet type 0 or 2) = oracle packets.
    expect(tags.filter((t) => t.type !== 18 && t.body[1] === 1).length).toBe(oracle.length);
    const video = tags.filter((t) => t.type === 9 && t.body[1] === 1);
    const oVideo = oracle.filter((p) => p.type === 'video');
    expect(video.map((t) => t.body.length - 5)).toEqual(oVideo.map((p) => p.size));
    expect(oVideo[0]?.keyframe).toBe(true);
  });
});

describe('bytes', () => {
  it('hex, concat, split', () => {
    const b = fromHex('01 02:0a ff');
    expect(toHex(b)).toBe('01020aff');
    expect(sameBytes(concat(splitAt(b, [3, 1, 1, 99])), b)).toBe(true);
    expect(splitAt(b, [3, 1, 1, 99]).map((p) => p.length)).toEqual([1, 2, 1, 0]);
  });
});

describe('processes and ports', () => {
  it('run() kills at the timeout and reports it', async () => {
    const r = await run(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], 200).done;
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
  });

  it('run() resolves with code -1 for a missing command', async () => {
    const r = await run('rtmp-no-such-tool-xyz', []).done;
    expect(r.code).toBe(-1);
  });

  it('a missing tool is a skip locally and a failure under CI=true', () => {
    expect(toolAvailable('rtmp-no-such-tool-xyz')).toBe(false);
    if (process.env.CI === 'true') expect(() => hasTool('rtmp-no-such-tool-xyz')).toThrow(/CI=true/);
    else expect(hasTool('rtmp-no-such-tool-xyz')).toBe(false);
    expect(toolAvailable(process.execPath, ['--version'])).toBe(true);
  });

  it.skipIf(!hasTool('ffmpeg'))('a missing FFmpeg encoder follows the same rule', () => {
    // aac is FFmpeg's own encoder: every build has it.
    expect(hasFfmpegEncoder('aac')).toBe(true);
    if (process.env.CI === 'true') expect(() => hasFfmpegEncoder('rtmp-no-such-encoder')).toThrow(/CI=true/);
    else expect(hasFfmpegEncoder('rtmp-no-such-encoder')).toBe(false);
  });

  it('waitForPort, CuttableProxy forward then go silent', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    const port = await freePort();
    echo.listen(port, '127.0.0.1');
    await waitForPort(port, 2_000);
    const proxy = new CuttableProxy(port);
    const proxyPort = await proxy.listen();
    const socket = net.connect(proxyPort, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => {
      got += d.toString();
    });
    socket.write('ping');
    await until(() => got === 'ping', 2_000, 'echo');
    proxy.cut();
    socket.write('lost');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toBe('ping');
    expect(socket.destroyed).toBe(false);
    socket.destroy();
    await proxy.close();
    await new Promise((r) => echo.close(r));
    await expect(waitFor(() => undefined, 50, 10)).rejects.toThrow(/timed out/);
  });
});

describe.skipIf(!hasTool('openssl'))('tls', () => {
  it('makes a self-signed certificate', () => {
    const c = selfSignedCert();
    expect(c.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(existsSync(c.keyPath)).toBe(true);
  });
});

describe.skipIf(!hasNginxRtmp())('nginx-rtmp', () => {
  it('starts, listens and stops', async () => {
    const nginx = await startNginxRtmp({ chunkSize: 4096 });
    try {
      await waitForPort(nginx.port, 1_000);
      expect(nginx.url).toBe(`rtmp://127.0.0.1:${nginx.port}/live`);
    } finally {
      await nginx.stop();
    }
    expect(existsSync(nginx.dir)).toBe(false);
  });
});

describe('proc', () => {
  it.skipIf(process.platform !== 'linux')('reads CPU time and memory of this process', () => {
    expect(cpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(memory(process.pid).peak).toBeGreaterThan(1_000_000);
  });
});

describe('freePort', () => {
  it('never hands out the same port twice, and each is bindable when handed out', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).toBe(200);
    for (const port of ports) expect(port).toBeGreaterThan(0);
  });
});
