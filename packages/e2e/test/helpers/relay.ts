import { LiveRelay, type RtmpHandler, RtmpServer, type RtmpServerOptions } from '@rtmp/server';

/** Our RtmpServer with a LiveRelay on 127.0.0.1:<free port>; `inner` adds decisions (rejections). */
export async function startRelayServer(
  options: { inner?: () => RtmpHandler; tls?: RtmpServerOptions['tls'] } = {},
): Promise<{ server: RtmpServer; relay: LiveRelay; port: number }> {
  const relay = new LiveRelay();
  const server = new RtmpServer({
    host: '127.0.0.1',
    port: 0,
    handler: relay.handler(options.inner ? () => options.inner!() : undefined),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const port = await server.start();
  return { server, relay, port };
}
