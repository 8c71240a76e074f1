import { describe, expect, it } from 'vitest';
import { type ClientSession, LiveRelay } from '../src/index.js';

/** A stand-in player whose queue length and wanted media the test sets. */
interface FakePlayer {
  session: ClientSession;
  writes: number;
  queue: (bytes: number) => void;
  want: (video: boolean, audio: boolean) => void;
  closedWith: () => string | undefined;
}

function fakePlayer(): FakePlayer {
  const state = { writes: 0, queued: 0, video: true, audio: true, closed: undefined as string | undefined };
  const session = {
    closed: false,
    wants: (_id: number, type: number) => (type === 9 ? state.video : state.audio),
    endPlayback: () => {},
    close: (e?: { code: string }) => {
      state.closed = e?.code;
    },
    connection: {
      get writableLength() {
        return state.queued;
      },
      outChunkSize: 4096,
      writeEncoded: () => {
        state.writes++;
        return true;
      },
    },
  } as unknown as ClientSession;
  return {
    session,
    get writes() {
      return state.writes;
    },
    queue: (bytes) => {
      state.queued = bytes;
    },
    want: (video, audio) => {
      state.video = video;
      state.audio = audio;
    },
    closedWith: () => state.closed,
  };
}

const frame = (key: boolean, size: number) => {
  const body = new Uint8Array(size);
  body.set([key ? 0x17 : 0x27, 1]);
  return body;
};

const MAX = 1000;

function setup() {
  const relay = new LiveRelay({ maxPlayerQueue: MAX });
  const publisher = fakePlayer().session;
  expect(relay.publish('live/k', publisher, 1)).toBe(true);
  let ts = 0;
  const push = (key: boolean, size = 100) =>
    relay.push('live/k', publisher, {
      type: 9,
      streamId: 1,
      timestamp: (ts += 40),
      payload: frame(key, size),
    });
  const drops: [string, ClientSession, number, number][] = [];
  relay.on('drop', (...args) => drops.push(args));
  return { relay, publisher, push, drops };
}

describe('LiveRelay drop accounting', () => {
  it('counts what a player that fell behind missed, per player, per key and relay-wide', () => {
    const { relay, push, drops } = setup();
    const fast = fakePlayer();
    const slow = fakePlayer();
    relay.play('live/k', fast.session, 1);
    relay.play('live/k', slow.session, 1);
    push(true, 100);
    push(false, 50);
    expect(slow.writes).toBe(2);
    slow.queue(MAX + 1);
    push(false, 10); // falls behind here
    push(false, 20);
    slow.queue(0); // caught up, but inter frames are useless until the next keyframe
    push(false, 30);
    expect(slow.writes).toBe(2);
    expect(drops).toEqual([]);
    push(true, 40);
    expect(slow.writes).toBe(3);
    expect(fast.writes).toBe(6);
    // One event for the whole episode, when the player gets media again.
    expect(drops).toEqual([['live/k', slow.session, 3, 60]]);
    const stats = relay.stats('live/k')!;
    expect(stats).toMatchObject({ key: 'live/k', players: 2, droppedMessages: 3, droppedBytes: 60 });
    expect(stats.playerStats.map((p) => [p.session, p.droppedMessages, p.droppedBytes, p.behind])).toEqual([
      [fast.session, 0, 0, false],
      [slow.session, 3, 60, false],
    ]);
    expect(relay.totals()).toEqual({ droppedMessages: 3, droppedBytes: 60, slowPlayers: 0 });
  });

  it('counts the keyframe that finds a player still behind, then disconnects it', () => {
    const { relay, push, drops } = setup();
    const slow = fakePlayer();
    const slowEvents: string[] = [];
    relay.on('slowPlayer', (key) => slowEvents.push(key));
    relay.play('live/k', slow.session, 1);
    push(true, 100);
    slow.queue(MAX + 1);
    push(false, 10);
    push(true, 200);
    expect(slow.closedWith()).toBe('ERR_RTMP_SLOW_CONSUMER');
    expect(slowEvents).toEqual(['live/k']);
    expect(drops).toEqual([['live/k', slow.session, 2, 210]]);
    // The key keeps the count after the player left; the relay keeps it after the key is gone.
    expect(relay.stats('live/k')).toMatchObject({ players: 0, droppedMessages: 2, droppedBytes: 210 });
    expect(relay.totals()).toEqual({ droppedMessages: 2, droppedBytes: 210, slowPlayers: 1 });
    push(false, 10);
    expect(relay.totals().droppedMessages).toBe(2);
  });

  it('does not count media a player opted out of, nor the wait of a new player for its first keyframe', () => {
    const { relay, push, publisher, drops } = setup();
    push(false, 10); // no keyframe yet: nothing cached
    const late = fakePlayer();
    const audioOnly = fakePlayer();
    audioOnly.want(false, true);
    relay.play('live/k', late.session, 1);
    relay.play('live/k', audioOnly.session, 1);
    push(false, 10);
    push(false, 10);
    expect(late.writes).toBe(0);
    push(true, 100);
    push(false, 10);
    expect(late.writes).toBe(2);
    expect(audioOnly.writes).toBe(0);
    // A pause (wants false) while the queue is long is still not a drop.
    late.want(false, false);
    late.queue(MAX + 1);
    push(false, 10);
    relay.push('live/k', publisher, {
      type: 8,
      streamId: 1,
      timestamp: 1000,
      payload: Uint8Array.of(0xaf, 1),
    });
    expect(relay.stats('live/k')!.droppedMessages).toBe(0);
    expect(relay.totals()).toEqual({ droppedMessages: 0, droppedBytes: 0, slowPlayers: 0 });
    expect(drops).toEqual([]);
  });

  it('reports a pending episode when the player stops or the stream ends', () => {
    const { relay, push, publisher, drops } = setup();
    const a = fakePlayer();
    const b = fakePlayer();
    relay.play('live/k', a.session, 1);
    relay.play('live/k', b.session, 1);
    push(true, 100);
    a.queue(MAX + 1);
    b.queue(MAX + 1);
    push(false, 7);
    push(false, 8);
    relay.stop('live/k', a.session);
    expect(drops).toEqual([['live/k', a.session, 2, 15]]);
    relay.unpublish('live/k', publisher);
    expect(drops).toEqual([
      ['live/k', a.session, 2, 15],
      ['live/k', b.session, 2, 15],
    ]);
    expect(relay.stats('live/k')).toBeUndefined();
    expect(relay.stats()).toEqual([]);
    expect(relay.totals()).toEqual({ droppedMessages: 4, droppedBytes: 30, slowPlayers: 0 });
  });

  it('counts a new player whose cached GOP overflows its queue', () => {
    const { relay, push } = setup();
    push(true, 100);
    push(false, 100);
    push(false, 100);
    const p = fakePlayer();
    // The queue grows with what the relay writes, as a corked socket's would.
    let queued = 0;
    const connection = p.session.connection as unknown as { writeEncoded: () => boolean };
    Object.defineProperty(p.session.connection, 'writableLength', { get: () => queued });
    connection.writeEncoded = () => {
      queued += 600;
      return true;
    };
    relay.play('live/k', p.session, 1);
    // Keyframe and one inter frame fit (0, then 600 queued); the third finds 1200 > 1000.
    expect(relay.stats('live/k')!.playerStats[0]).toMatchObject({
      droppedMessages: 1,
      droppedBytes: 100,
      behind: true,
    });
  });

  it('a player that turned video off before the first keyframe gets audio at once, and video from a keyframe', () => {
    const { relay, publisher, push } = setup();
    const pushAudio = () =>
      relay.push('live/k', publisher, {
        type: 8,
        streamId: 1,
        timestamp: 0,
        payload: Uint8Array.of(0xaf, 1, 0, 0),
      });
    push(true); // the stream has video
    const player = fakePlayer();
    player.want(false, true);
    relay.play('live/k', player.session, 1);
    const cached = player.writes; // the cached audio-less GOP: its video is not wanted
    push(false);
    expect(player.writes).toBe(cached);
    pushAudio();
    pushAudio();
    expect(player.writes).toBe(cached + 2);
    // Video back on: inter frames are skipped until a keyframe, audio goes on.
    player.want(true, true);
    push(false);
    expect(player.writes).toBe(cached + 2);
    push(true);
    push(false);
    pushAudio();
    expect(player.writes).toBe(cached + 5);
    expect(relay.stats('live/k')?.droppedMessages ?? 0).toBe(0);
  });
});
