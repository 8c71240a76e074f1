import * as net from 'node:net';
import { RtmpConnection, type RtmpConnectionOptions } from '../../src/index.js';

export interface Pair {
  server: RtmpConnection;
  client: RtmpConnection;
  close(): Promise<void>;
}

/** A real TCP socket pair on 127.0.0.1 with an RtmpConnection on each end. */
export async function connectionPair(
  serverOptions: Partial<RtmpConnectionOptions> = {},
  clientOptions: Partial<RtmpConnectionOptions> = {},
): Promise<Pair> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const clientSocket = net.connect(port, '127.0.0.1');
  const client = new RtmpConnection(clientSocket, { ...clientOptions, role: 'client' });
  const server = new RtmpConnection(await accepted, { ...serverOptions, role: 'server' });
  listener.close();
  const done = [server, client].map((c) => new Promise<void>((resolve) => c.once('close', () => resolve())));
  return {
    server,
    client,
    async close() {
      server.destroy();
      client.destroy();
      await Promise.all(done);
    },
  };
}
