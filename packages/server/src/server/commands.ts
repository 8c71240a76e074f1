import { type AmfObject, createAmfObject } from '@rtmp/amf';
import {
  type EnhancedRtmpCapabilities,
  negotiated,
  type RtmpCommand,
  readCapabilities,
  writeCapabilities,
} from '@rtmp/connection';
import { StreamDemuxer } from '@rtmp/flv-demux';
import type { SessionCore } from './core.js';
import { narrowCapabilities } from './enhanced.js';
import type {
  ConnectDecision,
  ConnectInfo,
  PlayInfo,
  PublishInfo,
  RejectDecision,
  SeekInfo,
} from './handler.js';
import { type RefusedCommand, statusInfo } from './status.js';
import type { NetStream } from './streams.js';
import { parseStreamName, recordFor } from './util.js';

/** Handles one command of a connected session (or `connect` itself). Awaited by the handler queue. */
type CommandHandler = (core: SessionCore, command: RtmpCommand) => void | Promise<void>;

const FMS_VERSION = 'FMS/3,0,1,123';

function isReject(decision: ConnectDecision): decision is RejectDecision {
  return (
    typeof decision === 'object' && decision !== null && 'reject' in decision && decision.reject === true
  );
}

/**
 * Whether a command goes on after its handler's `decision`: false when the session closed while it was pending, or
 * when the decision refused it (then answered through the one refuse path).
 */
function accepted(
  core: SessionCore,
  command: RtmpCommand,
  refused: RefusedCommand,
  decision: ConnectDecision,
): boolean {
  if (core.closedOrClosing) return false;
  if (!isReject(decision)) return true;
  core.refuse(command, refused, decision.reason, decision.code);
  return false;
}

function stringArg(command: RtmpCommand, index: number, fallback = ''): string {
  const value = command.args[index];
  return typeof value === 'string' ? value : fallback;
}

/** Sends an onFCPublish-style notice: a command on stream 0 whose info has a code and a description only. */
function sendNotice(core: SessionCore, name: string, code: string, description: string): void {
  core.connection.sendCommand(name, 0, [null, statusInfo(undefined, code, description)]);
}

/**
 * The command object of our `_result` to `connect`: the legacy properties, then what the server states of
 * Enhanced RTMP, if anything (nothing for a client that announced nothing: its answer is the legacy one, byte for
 * byte).
 */
function serverProperties(stated: EnhancedRtmpCapabilities | undefined): AmfObject {
  const server = createAmfObject();
  server.fmsVer = FMS_VERSION;
  server.capabilities = 31;
  server.mode = 1;
  if (stated) writeCapabilities(server, stated);
  return server;
}

/** What the server states of E-RTMP once the handler decided: its own statement, narrowed by an acceptConnect. */
function statedCapabilities(
  offered: EnhancedRtmpCapabilities | undefined,
  decision: ConnectDecision,
): EnhancedRtmpCapabilities | undefined {
  if (offered === undefined || typeof decision !== 'object' || decision === null || !('accept' in decision)) {
    return offered;
  }
  return decision.enhancedRtmp === false ? undefined : narrowCapabilities(offered, decision.enhancedRtmp);
}

async function connect(core: SessionCore, command: RtmpCommand): Promise<void> {
  if (core.connected) {
    core.callFailed(command, 'already connected');
    return;
  }
  const properties = recordFor(command.commandObject);
  const objectEncoding = properties.objectEncoding === 3 ? 3 : 0;
  const enhancedRtmp = readCapabilities(properties);
  const serverCapabilities = core.options.enhancedRtmp;
  const info: ConnectInfo = {
    transactionId: command.transactionId,
    properties,
    userArguments: command.args,
    app: typeof properties.app === 'string' ? properties.app : '',
    tcUrl: typeof properties.tcUrl === 'string' ? properties.tcUrl : '',
    objectEncoding,
    enhancedRtmp,
    // A client that announced nothing of E-RTMP gets the legacy answer: FFmpeg 5.1, OBS 29 and librtmp see no change.
    serverEnhancedRtmp: enhancedRtmp && serverCapabilities ? serverCapabilities : undefined,
  };
  const decision = await core.handler.handleConnect?.(info);
  if (!accepted(core, command, 'connect', decision)) return;
  const stated = statedCapabilities(info.serverEnhancedRtmp, decision);
  core.connected = true;
  core.enhancedRtmp = negotiated(enhancedRtmp, stated);
  core.session.connectInfo = info;
  const { connection, options } = core;
  connection.setWindowAckSize(options.windowAckSize);
  connection.setPeerBandwidth(options.peerBandwidth, 2);
  connection.setChunkSize(options.chunkSize);
  connection.reply(command, [
    serverProperties(stated),
    statusInfo('status', 'NetConnection.Connect.Success', 'Connection succeeded.', { objectEncoding }),
  ]);
  core.session.emit('connect', info);
}

function createStream(core: SessionCore, command: RtmpCommand): void {
  const id = core.streams.allocate();
  if (id === undefined) core.callFailed(command, 'too many streams');
  else core.connection.reply(command, [null, id]);
}

/**
 * The idle stream a publish or play command may use; otherwise refuses it with the standard error status
 * (BadName / Play.Failed) and returns undefined.
 */
function idleStreamFor(
  core: SessionCore,
  command: RtmpCommand,
  rawName: string,
  action: 'publish' | 'play',
): NetStream | undefined {
  const stream = core.streams.forCommand(command);
  if (stream?.mode === 'idle' && rawName !== '') return stream;
  const reason = !stream ? 'no such stream' : rawName === '' ? 'empty stream name' : 'stream busy';
  core.refuse(
    command,
    action,
    reason,
    action === 'publish' ? 'NetStream.Publish.BadName' : 'NetStream.Play.Failed',
  );
  return undefined;
}

async function publish(core: SessionCore, command: RtmpCommand): Promise<void> {
  const rawName = stringArg(command, 0);
  const type = stringArg(command, 1, 'live');
  const stream = idleStreamFor(core, command, rawName, 'publish');
  if (!stream) return;
  const { key, query } = parseStreamName(rawName);
  const info: PublishInfo = { streamId: stream.id, streamKey: key, name: rawName, type, query };
  if (!accepted(core, command, 'publish', await core.handler.handlePublish?.(key, info))) return;
  stream.mode = 'publishing';
  stream.key = key;
  stream.context = { streamId: stream.id, streamKey: key };
  stream.demuxer = core.options.demux ? new StreamDemuxer() : undefined;
  core.connection.sendUserControl({ type: 'streamBegin', streamId: stream.id });
  core.sendStatus(
    stream.id,
    statusInfo('status', 'NetStream.Publish.Start', `${rawName} is now published.`, { details: rawName }),
  );
  core.session.emit('publish', info);
  core.fire(() => core.handler.handlePublishStart?.(info));
}

async function play(core: SessionCore, command: RtmpCommand): Promise<void> {
  const rawName = stringArg(command, 0);
  const start = typeof command.args[1] === 'number' ? command.args[1] : -2000;
  const duration = typeof command.args[2] === 'number' ? command.args[2] : -1;
  const reset = command.args[3] !== false;
  const stream = idleStreamFor(core, command, rawName, 'play');
  if (!stream) return;
  const { key, query } = parseStreamName(rawName);
  const info: PlayInfo = { streamId: stream.id, name: key, rawName, query, start, duration, reset };
  if (!accepted(core, command, 'play', await core.handler.handlePlay?.(info))) return;
  stream.mode = 'playing';
  stream.key = key;
  stream.play = info;
  stream.context = { streamId: stream.id, streamKey: key };
  const connection = core.connection;
  if (connection.outChunkSize !== core.options.chunkSize) connection.setChunkSize(core.options.chunkSize);
  connection.sendUserControl({ type: 'streamBegin', streamId: stream.id });
  const details = { details: rawName };
  if (reset) {
    core.sendStatus(
      stream.id,
      statusInfo('status', 'NetStream.Play.Reset', `Playing and resetting ${rawName}.`, details),
    );
  }
  core.sendStatus(
    stream.id,
    statusInfo('status', 'NetStream.Play.Start', `Started playing ${rawName}.`, details),
  );
  connection.sendData(stream.id, ['|RtmpSampleAccess', true, true]);
  core.session.emit('play', info);
  core.fire(() => core.handler.handlePlayStart?.(info));
}

async function deleteStream(core: SessionCore, command: RtmpCommand): Promise<void> {
  const id = typeof command.args[0] === 'number' ? command.args[0] : command.streamId;
  const stream = core.streams.get(id);
  if (stream) {
    core.endStream(stream);
    core.streams.delete(id);
  }
  const verdict = await core.handler.handleDeleteStream?.(id);
  if (verdict === 'close' && !core.closedOrClosing) core.close();
}

function pause(core: SessionCore, command: RtmpCommand): void {
  const stream = core.streams.get(command.streamId);
  if (stream?.mode !== 'playing') {
    if (command.transactionId > 0) core.callFailed(command, 'not playing');
    return;
  }
  const paused = command.args[0] === true;
  stream.paused = paused;
  core.sendStatus(
    stream.id,
    paused
      ? statusInfo('status', 'NetStream.Pause.Notify', 'Paused.')
      : statusInfo('status', 'NetStream.Unpause.Notify', 'Unpaused.'),
  );
  core.session.emit('pause', stream.context, paused);
}

/**
 * `seek(ms)` on a play stream. Only an application that can seek (`handleSeek`) answers it; without one it is refused
 * like any unknown command, as before the callback existed.
 */
async function seek(core: SessionCore, command: RtmpCommand): Promise<void> {
  const stream = core.streams.get(command.streamId);
  const handleSeek = core.handler.handleSeek;
  if (handleSeek === undefined) {
    if (command.transactionId > 0) core.callFailed(command, `Method not found (${command.name})`);
    return;
  }
  const position = command.args[0];
  if (stream?.mode !== 'playing' || typeof position !== 'number' || !(position >= 0)) {
    if (command.transactionId > 0) core.callFailed(command, 'not playing, or not a position');
    return;
  }
  const info: SeekInfo = { streamId: stream.id, streamKey: stream.key, position };
  const done = await handleSeek.call(core.handler, info);
  if (core.closedOrClosing || stream.mode !== 'playing') return;
  if (done === false) {
    core.sendStatus(stream.id, statusInfo('error', 'NetStream.Seek.Failed', `Cannot seek ${stream.key}.`));
    return;
  }
  core.sendStatus(
    stream.id,
    statusInfo('status', 'NetStream.Seek.Notify', `Seeking ${position} (stream ID: ${stream.id}).`, {
      details: stream.key,
    }),
  );
  core.session.emit('seek', stream.context, position);
}

function receive(core: SessionCore, command: RtmpCommand): void {
  const stream = core.streams.get(command.streamId);
  if (!stream) return;
  const on = command.args[0] !== false;
  if (command.name === 'receiveAudio') stream.receiveAudio = on;
  else stream.receiveVideo = on;
}

function ignore(): void {}

/**
 * The command table: what the session does with each command it knows, by name as sent. A command not listed
 * that carries a transaction id gets `_error` NetConnection.Call.Failed; before `connect` only `connect` is run.
 */
export const COMMANDS: ReadonlyMap<string, CommandHandler> = new Map<string, CommandHandler>([
  ['connect', connect],
  ['createStream', createStream],
  ['releaseStream', (core, command) => void core.connection.reply(command, [null])],
  [
    'FCPublish',
    (core, command) => {
      sendNotice(core, 'onFCPublish', 'NetStream.Publish.Start', stringArg(command, 0));
      core.connection.reply(command, [null]);
    },
  ],
  [
    'FCUnpublish',
    (core, command) => {
      // Wirecast sends `false` as the name: end whatever this connection publishes under that name, or everything.
      const name = typeof command.args[0] === 'string' ? parseStreamName(command.args[0]).key : undefined;
      for (const stream of core.streams.values()) {
        if (stream.mode === 'publishing' && (name === undefined || stream.key === name))
          core.endStream(stream);
      }
      sendNotice(core, 'onFCUnpublish', 'NetStream.Unpublish.Success', name ?? '');
      core.connection.reply(command, [null]);
    },
  ],
  [
    'FCSubscribe',
    (core, command) => {
      sendNotice(core, 'onFCSubscribe', 'NetStream.Play.Start', stringArg(command, 0));
      if (command.transactionId > 0) core.connection.reply(command, [null]);
    },
  ],
  ['publish', publish],
  ['play', play],
  ['deleteStream', deleteStream],
  [
    'closeStream',
    (core, command) => {
      const stream = core.streams.get(command.streamId);
      if (stream) core.endStream(stream);
    },
  ],
  ['getStreamLength', (core, command) => void core.connection.reply(command, [null, 0])],
  ['pause', pause],
  ['seek', seek],
  ['receiveAudio', receive],
  ['receiveVideo', receive],
  ['_result', ignore],
  ['_error', ignore],
  ['onBWDone', ignore],
  [
    '_checkbw',
    (core, command) => {
      if (command.transactionId > 0) core.connection.reply(command, [null]);
    },
  ],
]);
