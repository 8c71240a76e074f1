// The session's public surface: normaliseApp, how command objects and metadata reach the handler (read with
// @rtmp/amf's amfProperties), and what the shipped declaration files expose.
import { existsSync, readFileSync } from 'node:fs';
import { EcmaArray, TypedObject } from '@rtmp/amf';
import { until } from '@rtmp/testing';
import { describe, expect, it } from 'vitest';
import { type ConnectInfo, LiveRelay, normaliseApp } from '../src/index.js';
import { connected, createStream, handshaken, serverPerTest } from './raw-peer.js';

const servers = serverPerTest();

describe('normaliseApp', () => {
  it.each([
    ['live', 'live'],
    ['live/', 'live'],
    ['live///', 'live'],
    ['a/b/', 'a/b'],
    ['/live', '/live'],
    ['/', ''],
    ['', ''],
    ['Live', 'Live'],
    ['live?token=1/', 'live?token=1'],
  ])('%j is %j', (app, normalised) => {
    expect(normaliseApp(app)).toBe(normalised);
  });

  it("is what the relay keys streams by (scope 'app')", async () => {
    const relay = new LiveRelay();
    const c = await connected(await servers.start({ handler: relay.handler() }), 'live//');
    const [session] = [...servers.server.sessions];
    expect(relay.keyFor(session!, 'abc')).toBe(`${normaliseApp('live//')}/abc`);
    c.destroy();
  });
});

describe('command objects and metadata', () => {
  it('reads connect from an anonymous object, an ECMA array or a typed object; none gives an empty record of its own', async () => {
    const seen: ConnectInfo[] = [];
    const port = await servers.start({
      handler: () => ({
        handleConnect: (info) => {
          seen.push(info);
          info.properties.touchedByHandler = true;
        },
      }),
    });
    const objects = [
      { app: 'plain', objectEncoding: 3 },
      new EcmaArray(Object.assign(Object.create(null), { app: 'ecma', tcUrl: 'rtmp://h/ecma' })),
      new TypedObject('flash.Connect', Object.assign(Object.create(null), { app: 'typed' })),
      null,
    ];
    for (const object of objects) {
      const c = await handshaken(port);
      await c.call('connect', [object]);
      c.destroy();
    }
    expect(seen.map((i) => [i.app, i.tcUrl, i.objectEncoding])).toEqual([
      ['plain', '', 3],
      ['ecma', 'rtmp://h/ecma', 0],
      ['typed', '', 0],
      ['', '', 0],
    ]);
    // Each handler got a record it may write to, the empty one included (not a shared frozen record).
    expect(seen.map((i) => i.properties.touchedByHandler)).toEqual([true, true, true, true]);
  });

  it('gives handleMetadata the onMetaData record, or an empty record of its own for a value that has none', async () => {
    const metadata: Record<string, unknown>[] = [];
    const port = await servers.start({
      handler: () => ({
        handleMetadata: (record) => {
          metadata.push({ ...record });
          record.touched = true;
        },
      }),
    });
    const c = await connected(port);
    const streamId = await createStream(c);
    const publishing = new Promise<void>((resolve) => c.once('status', () => resolve()));
    c.sendCommand('publish', 0, [null, 'key'], streamId);
    await publishing;
    c.sendData(streamId, ['@setDataFrame', 'onMetaData', new EcmaArray({ width: 640 })]);
    c.sendData(streamId, ['onMetaData', { height: 360 }]);
    c.sendData(streamId, ['onMetaData', 5]);
    await until(() => metadata.length === 3, 2_000, 'metadata');
    expect(metadata).toEqual([{ width: 640 }, { height: 360 }, {}]);
    c.destroy();
  });
});

describe('shipped declarations', () => {
  const dist = new URL('../dist/', import.meta.url);
  const files = ['index.d.ts', 'index.d.cts'].map((name) => new URL(name, dist));

  it.each(files.map((file) => [file.pathname.slice(file.pathname.lastIndexOf('/') + 1), file]))(
    '%s has no @internal member and none of the session internals',
    (_name, file) => {
      if (!existsSync(file)) throw new Error(`${file.pathname} is missing: build @rtmp/server first`);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('@internal');
      for (const internal of [
        'SessionCore',
        'SessionHooks',
        'SessionOptions',
        'createSession',
        'shutdownSession',
      ]) {
        expect(text).not.toContain(internal);
      }
      // ClientSession cannot be constructed by applications.
      expect(text).toMatch(/declare class ClientSession [^{]*\{[^}]*private constructor\(\);/);
    },
  );
});
