// probe prints the Enhanced RTMP capabilities the server states: our server (every codec forwarded, capsEx 15) and
// nginx-rtmp, which states nothing of E-RTMP.
import { type RtmpServer, SERVER_CAPABILITIES } from '@rtmp/server';
import { hasNginxRtmp, type NginxRtmp, startNginxRtmp } from '@rtmp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, startServer } from './helpers.js';

let server: RtmpServer | undefined;
let nginx: NginxRtmp | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
  await nginx?.stop();
  nginx = undefined;
});

describe('probe: the E-RTMP capabilities of the server', () => {
  it('of RtmpServer: its statement, and the capsEx bits both sides announced', async () => {
    const started = await startServer();
    server = started.server;
    // No publisher: probe exits 4 after --wait, having printed the connect negotiation.
    const json = await cli(['probe', `${started.url}/nobody`, '--wait', '0.5', '--json']);
    expect(json.code, json.stderr).toBe(4);
    expect(json.json.enhancedRtmp).toEqual({
      server: JSON.parse(JSON.stringify(SERVER_CAPABILITIES)),
      capsEx: 14,
      capsExNames: ['Multitrack', 'ModEx', 'TimestampNanoOffset'],
    });
    const text = await cli(['probe', `${started.url}/nobody`, '--wait', '0.5']);
    expect(text.code, text.stderr).toBe(4);
    expect(text.stdout).toContain(
      [
        '  E-RTMP (as the server states it):',
        '    capsEx: 15 (Reconnect, Multitrack, ModEx, TimestampNanoOffset); both sides: 14 (Multitrack, ModEx, TimestampNanoOffset)',
        '    video: * CanForward',
        '    audio: * CanForward',
        '    fourCcList: avc1 hvc1 vvc1 av01 vp09 vp08 mp4a Opus fLaC ac-3 ec-3 .mp3',
      ].join('\n'),
    );
  });

  it.skipIf(!hasNginxRtmp())(
    'of nginx-rtmp: nothing of E-RTMP, and our E-RTMP connect is accepted',
    async () => {
      nginx = await startNginxRtmp();
      const json = await cli(['probe', `${nginx.url}/nobody`, '--wait', '0.5', '--json']);
      expect(json.code, `${json.stderr}\n${nginx.log()}`).toBe(4);
      expect(json.json.connectStatus).toMatchObject({ code: 'NetConnection.Connect.Success' });
      expect(json.json.enhancedRtmp).toEqual({ server: null, capsEx: 0, capsExNames: [] });
      const text = await cli(['probe', `${nginx.url}/nobody`, '--wait', '0.5']);
      expect(text.code).toBe(4);
      expect(text.stdout).toContain(
        '  E-RTMP: the server states no Enhanced RTMP capabilities (a legacy server)',
      );
    },
  );
});
