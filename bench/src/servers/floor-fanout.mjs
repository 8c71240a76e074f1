/**
 * The floor of a Node fan-out server: what relaying one publisher to N RTMP players costs in Node with everything
 * but the unavoidable removed.
 *
 * Our RtmpServer does the handshakes, connect, createStream, publish and play (statuses, chunk size, StreamBegin,
 * `|RtmpSampleAccess`), exactly as for the bare server. Once the publish has started, the publisher's socket reads
 * are taken from the connection core (takeover.mjs), chunk-decoded (`ChunkDecoder` with `transientInput`: every
 * payload copied once out of the shared read buffer, the copy a relay needs to keep anything), and each audio/video
 * message is chunk-encoded once per (message stream id, chunk size) of the players, as the relay's shared encoding
 * is (fmt 0 chunk then fmt 3 chunks, on the chunk streams and with the timestamps the relay uses). The encodings of
 * the messages of one socket read are joined into one buffer (one more copy of each payload, as the relay's one
 * contiguous encoding per message) and written to every player socket with one `socket.write` each: one write per
 * player per publisher read, as the relay's write batch gives (one `writev` per player per read).
 *
 * What it keeps, because a player cannot play without it: the last metadata and the last audio and video sequence
 * headers, sent to each player when its play starts, and a player starts at the next video keyframe (audio before
 * it is not sent to it). Waiting players are a separate list, so this costs nothing per message and player.
 *
 * What our relay does that this skips, each a feature a relay could drop only by dropping it (none of it changes
 * what the bench's players receive once they play):
 * - the GOP cache: a late joiner gets the frames since the last keyframe at once, instead of waiting for the next;
 * - the slow-player policy: the socket's queue is read before every message, a player too far behind skips to the
 *   next keyframe or is disconnected; here a stuck player's queue grows without limit;
 * - per-player state on the delivery path: pause, receiveAudio/receiveVideo, a player's play stream id and chunk
 *   size each honoured, drop counters and events;
 * - the handler contract and the relay's bookkeeping: a message object per message handed to handlers, stream
 *   keys, several publishers and several streams (this relays one publisher to every player, whatever they ask),
 *   several tracks of one codec (one sequence header per media type kept here), data messages other than one
 *   metadata, and the protocol control the connection core answers for a publisher (acknowledgements, pings):
 *   the publisher's keepalive is off, since its connection sees nothing after the takeover.
 *
 * Mode `nagle` (server `floor-fanout-nagle`) turns Nagle's algorithm back on for each player socket once its play
 * starts (`setNoDelay(false)`; our connection core sets TCP_NODELAY on every socket): nginx-rtmp 1.2.2 never sets
 * TCP_NODELAY on its connections (strace shows no setsockopt after accept), so while a player has unacknowledged
 * data the kernel may queue nginx-rtmp's small writes into fewer segments instead of sending one per write. This
 * mode measures what that kernel difference is worth in CPU (at 200 players: nothing measurable, see the README).
 *
 * Usage: `node src/servers/floor-fanout.mjs <port> [nodelay|nagle]`; prints `ready <port>` once listening, and its
 * counts on SIGTERM.
 */
import { Buffer } from 'node:buffer';
import { encodeMessage, MessageType } from '@rtmp/chunk';
import { ChunkStreams } from '@rtmp/connection';
import { classifyAudioTag, classifyVideoTag, stripSetDataFrame } from '@rtmp/flv-demux';
import { RtmpServer } from '@rtmp/server';
import { publisherDecoder, takeOverReads } from './takeover.mjs';

const port = Number(process.argv[2] ?? '0');
const mode = process.argv[3] ?? 'nodelay';
if (mode !== 'nodelay' && mode !== 'nagle') throw new Error('mode must be nodelay or nagle');
const counts = { reads: 0, messages: 0, media: 0, flushes: 0, writes: 0, players: 0 };

/**
 * The players that share one encoding (one message stream id, one chunk size; in practice all of them): those
 * playing, and those waiting for a keyframe.
 */
class Audience {
  constructor(streamId, chunkSize) {
    this.streamId = streamId;
    this.chunkSize = chunkSize;
    /** @type {import('node:net').Socket[]} */
    this.live = [];
    /** @type {Player[]} */
    this.waiting = [];
    /** Chunk slices of the current read, not yet written. */
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Adds the chunk encoding of `message` on `csid` to what the current read sends to the live players. */
  add(message, csid) {
    if (this.live.length === 0) return;
    const slices = encodeMessage({ ...message, streamId: this.streamId }, csid, this.chunkSize);
    for (const slice of slices) {
      this.pending.push(slice);
      this.pendingBytes += slice.byteLength;
    }
  }

  /** One buffer for the read's messages, one write of it per live player. */
  flush() {
    const pending = this.pending;
    if (pending.length === 0) return;
    const wire = Buffer.allocUnsafe(this.pendingBytes);
    let at = 0;
    for (let i = 0; i < pending.length; i++) {
      wire.set(pending[i], at);
      at += pending[i].byteLength;
    }
    this.pending = [];
    this.pendingBytes = 0;
    const live = this.live;
    for (let i = 0; i < live.length; i++) live[i].write(wire);
    counts.flushes++;
    counts.writes += live.length;
  }

  /** A keyframe: the waiting players play from it on. */
  admit() {
    for (const player of this.waiting) this.live.push(player.socket);
    this.waiting = [];
  }

  remove(player) {
    const i = this.waiting.indexOf(player);
    if (i >= 0) this.waiting.splice(i, 1);
    const j = this.live.indexOf(player.socket);
    if (j >= 0) this.live.splice(j, 1);
  }
}

/** @typedef {{ session: import('@rtmp/server').ClientSession, socket: import('node:net').Socket, streamId: number, audience: Audience }} Player */

/** @type {Audience[]} */
const audiences = [];
/** What a player needs before media: the last metadata, then the last audio and video sequence headers. */
const joinState = { metadata: undefined, audio: undefined, video: undefined };
let hasVideo = false;

function audienceFor(streamId, chunkSize) {
  let audience = audiences.find((a) => a.streamId === streamId && a.chunkSize === chunkSize);
  if (audience === undefined) {
    audience = new Audience(streamId, chunkSize);
    audiences.push(audience);
  }
  return audience;
}

/** Writes `message` on `csid` to one player through its connection (off the hot path: joins, metadata). */
function sendTo(player, message, csid) {
  const connection = player.session.connection;
  const slices = encodeMessage({ ...message, streamId: player.streamId }, csid, player.audience.chunkSize);
  // The connection forgets its own header state of `csid`, so what it sends there later starts with fmt 0.
  connection.writeEncoded([Buffer.concat(slices)], csid);
}

function join(session, streamId) {
  const connection = session.connection;
  const audience = audienceFor(streamId, connection.outChunkSize);
  const player = { session, socket: connection.socket, streamId, audience };
  if (mode === 'nagle') player.socket.setNoDelay(false);
  if (joinState.metadata) sendTo(player, joinState.metadata, ChunkStreams.Data);
  if (joinState.audio) sendTo(player, joinState.audio, ChunkStreams.Audio);
  if (joinState.video) sendTo(player, joinState.video, ChunkStreams.Video);
  audience.waiting.push(player);
  counts.players++;
  return player;
}

function leave(player) {
  player.audience.remove(player);
}

/** Metadata and sequence headers: to every player, waiting or not, and kept for those who join later. */
function configure(message, csid, slot) {
  for (const audience of audiences) audience.flush();
  joinState[slot] = message;
  for (const audience of audiences) {
    for (const socket of audience.live) {
      const player = playerOf.get(socket);
      if (player) sendTo(player, message, csid);
    }
    for (const player of audience.waiting) sendTo(player, message, csid);
  }
}

/** Socket -> player, for the rare sends through a player's connection. */
const playerOf = new Map();

function onMessage(message, publishedStreamId) {
  if (message.streamId !== publishedStreamId) return;
  const type = message.type;
  if (type === MessageType.DataAmf0) {
    const payload = stripSetDataFrame(message.payload);
    configure({ ...message, timestamp: 0, payload }, ChunkStreams.Data, 'metadata');
    return;
  }
  if (type !== MessageType.Video && type !== MessageType.Audio) return;
  const video = type === MessageType.Video;
  const kind = (video ? classifyVideoTag(message.payload) : classifyAudioTag(message.payload)).kind;
  const csid = video ? ChunkStreams.Video : ChunkStreams.Audio;
  if (kind === 'config') {
    configure(message, csid, video ? 'video' : 'audio');
    return;
  }
  counts.media++;
  if (video) hasVideo = true;
  const startPoint = kind === 'keyframe' || (!video && !hasVideo);
  for (const audience of audiences) {
    if (startPoint && audience.waiting.length > 0) {
      // What this read encoded so far goes to those playing before the newcomers join them.
      audience.flush();
      audience.admit();
    }
    audience.add(message, csid);
  }
}

function takeOver(session, publishedStreamId) {
  const decoder = publisherDecoder(session);
  takeOverReads(session, (bytes) => {
    counts.reads++;
    let messages;
    try {
      messages = decoder.push(bytes);
    } catch (error) {
      process.stderr.write(`floor-fanout: publisher stream: ${error.message}\n`);
      session.connection.destroy();
      return;
    }
    counts.messages += messages.length;
    for (let i = 0; i < messages.length; i++) onMessage(messages[i], publishedStreamId);
    for (let i = 0; i < audiences.length; i++) audiences[i].flush();
  });
}

const server = new RtmpServer({
  host: '127.0.0.1',
  port,
  demux: false,
  // The publisher's connection sees nothing once its reads are taken over: no idle timeout, no pings.
  idleTimeout: 0,
  pingInterval: 0,
  handler: (_options, session) => {
    const plays = new Map();
    return {
      // After NetStream.Publish.Start went out: the publisher sends media only once it has read it, so the next
      // read starts at its first message after the publish.
      handlePublishStart: (info) => takeOver(session, info.streamId),
      handlePlayStart: (info) => {
        const player = join(session, info.streamId);
        playerOf.set(player.socket, player);
        plays.set(info.streamId, player);
      },
      handleStop: (context) => {
        const player = plays.get(context.streamId);
        if (player === undefined) return;
        plays.delete(context.streamId);
        playerOf.delete(player.socket);
        leave(player);
      },
      handleDisconnect: () => {
        for (const player of plays.values()) {
          playerOf.delete(player.socket);
          leave(player);
        }
        plays.clear();
      },
    };
  },
});
const bound = await server.start();
process.stdout.write(`ready ${bound}\n`);

const shutdown = () => {
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
