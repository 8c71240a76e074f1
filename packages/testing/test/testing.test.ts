import { existsSync } from 'node:fs';
import * as net from 'node:net';
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
  hasNginxRtmp,
  hasTool,
  memory,
  parseFlvTags,
  readCapture,
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
  it('finds the shared fixtures folder', () => {
    expect(existsSync(fixture('small_h264_aac.flv'))).toBe(true);
    expect(FIXTURES.endsWith('fixtures')).toBe(true);
  });

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
