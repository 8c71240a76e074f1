import * as net from 'node:net';
import type { RtmpMessage } from '@rtmp/chunk';
import { type RtmpCommand, RtmpConnection } from '@rtmp/connection';

/** A server side of one connection of a {@link ScriptedServer}. */
export interface ScriptedPeer {
  connection: RtmpConnection;
  /** Every command received, in order (connect included). */
  commands: RtmpCommand[];
  /** Every audio, video and data message received, in order. */
  media: RtmpMessage[];
}

/** What {@link scriptedServer} returns. */
export interface ScriptedServer {
  /** `rtmp://127.0.0.1:<port>/live/k`. */
  url: string;
  peers: ScriptedPeer[];
  close(): Promise<void>;
}

/**
 * A server on the connection core (server role), scripted enough for the client: it answers connect, createStream
 * (stream 1), publish (Publish.Start) and play (Play.Start), and records what it receives. `onCommand` sees every
 * command after the default answer, to add to it (send media, statuses...).
 */
export async function scriptedServer(
  onCommand: (peer: ScriptedPeer, command: RtmpCommand) => void = () => {},
): Promise<ScriptedServer> {
  const peers: ScriptedPeer[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const connection = new RtmpConnection(socket, { role: 'server', idleTimeout: 0 });
    const peer: ScriptedPeer = { connection, commands: [], media: [] };
    peers.push(peer);
    connection.on('message', (message) => peer.media.push(message));
    connection.on('data', (data) =>
      peer.media.push({
        type: data.messageType,
        streamId: data.streamId,
        timestamp: data.timestamp,
        payload: data.payload,
      }),
    );
    connection.on('command', (command) => {
      peer.commands.push(command);
      if (command.name === 'connect') {
        connection.reply(command, [
          { fmsVer: 'SCRIPTED/1' },
          { level: 'status', code: 'NetConnection.Connect.Success' },
        ]);
      } else if (command.name === 'createStream') {
        connection.reply(command, [null, 1]);
      } else if (command.name === 'publish') {
        connection.sendStatus(command.streamId, 'status', 'NetStream.Publish.Start', 'go');
      } else if (command.name === 'play') {
        connection.sendStatus(command.streamId, 'status', 'NetStream.Play.Start', 'go');
      }
      onCommand(peer, command);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `rtmp://127.0.0.1:${port}/live/k`,
    peers,
    close: () => {
      for (const peer of peers) peer.connection.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
