// The rtmp-ingest dashboard: polls /api/streams and plays a stream in the page with mpegts.js (loaded from
// /vendor/mpegts.js, served by the app from its npm package). No framework, no build step.

/**
 * How each watch button plays a stream: the URL it opens and how a player is made (mpegts.js for FLV, hls.js for
 * LL-HLS; both served by the app from their npm packages at /vendor/). HLS is offered when the server has it on.
 */
const TRANSPORTS = {
  'ws-flv': { label: 'WS-FLV', url: (s) => `${wsBase}/${path(s)}.flv`, create: createFlvPlayer },
  'http-flv': { label: 'HTTP-FLV', url: (s) => `${httpBase}/${path(s)}.flv`, create: createFlvPlayer },
  hls: { label: 'HLS', url: (s) => `${httpBase}/${path(s)}/index.m3u8`, create: createHlsPlayer, hls: true },
};

const httpBase = `${location.protocol}//${location.host}`;
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const $ = (id) => document.getElementById(id);
const video = $('video');
/** What tests and the curious read: the current player, its transport, the errors it reported. */
const state = { player: null, transport: null, stream: null, errors: [], info: { rtmpPort: 1935, apps: [] } };
window.dashboard = state;

function path(s) {
  return `${encodeURIComponent(s.app)}/${encodeURIComponent(s.key)}`;
}

/** mpegts.js over WS-FLV or HTTP-FLV, tuned for live: no stash buffer, and latency chasing. */
function createFlvPlayer(url) {
  return mpegts.createPlayer(
    { type: 'flv', isLive: true, url },
    {
      enableStashBuffer: false,
      liveBufferLatencyChasing: true,
      liveBufferLatencyMaxLatency: 0.8,
      liveBufferLatencyMinRemain: 0.2,
      lazyLoad: false,
      autoCleanupSourceBuffer: true,
    },
  );
}

/**
 * hls.js with low-latency mode, behind the small player interface the page uses for mpegts.js (on, attachMediaElement,
 * load, destroy, statisticsInfo): one code path for every transport.
 */
function createHlsPlayer(url) {
  const hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 1 });
  const player = {
    statisticsInfo: undefined,
    on(_event, listener) {
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) listener(data.type, data.details, { msg: data.reason ?? data.error?.message });
      });
    },
    attachMediaElement(element) {
      hls.attachMedia(element);
    },
    load() {
      hls.loadSource(url);
    },
    destroy() {
      hls.destroy();
    },
  };
  hls.on(Hls.Events.FRAG_LOADED, (_e, data) => {
    const stats = data.frag?.stats ?? data.part?.stats;
    const ms = stats ? stats.loading.end - stats.loading.start : 0;
    if (stats && ms > 0) player.statisticsInfo = { speed: stats.loaded / ms };
  });
  return player;
}

function available(spec) {
  return !spec.hls || (state.info.hls ?? false);
}

function play(stream, transport) {
  stop();
  const spec = TRANSPORTS[transport];
  const url = spec.url(stream);
  const player = spec.create(url);
  state.player = player;
  state.transport = transport;
  state.stream = `${stream.app}/${stream.key}`;
  state.errors = [];
  player.on(mpegts.Events.ERROR, (type, detail, info) => {
    state.errors.push({ type, detail, info });
    $('error').textContent = `${type}: ${detail}${info?.msg ? ` (${info.msg})` : ''}`;
  });
  player.attachMediaElement(video);
  player.load();
  video.play().catch(() => undefined);
  $('player').classList.add('on');
  $('playing').textContent = `${state.stream} over ${spec.label}`;
  $('error').textContent = '';
  showUrls(stream, url);
  history.replaceState(null, '', `?play=${encodeURIComponent(state.stream)}&via=${transport}`);
}

function stop() {
  if (state.player === null) return;
  state.player.destroy();
  state.player = null;
  $('player').classList.remove('on');
  history.replaceState(null, '', location.pathname);
}

/** The URLs to copy: the player's, and the RTMP one for ffplay, VLC or an OBS media source. */
function showUrls(stream, url) {
  const rtmp = `rtmp://${location.hostname}:${state.info.rtmpPort}/${stream.app}/${stream.key}`;
  const box = $('urls');
  box.replaceChildren();
  for (const text of [url, `${httpBase}/${path(stream)}.flv`, rtmp]) {
    if (box.querySelector(`[data-url="${CSS.escape(text)}"]`)) continue;
    const row = document.createElement('div');
    row.className = 'url';
    row.dataset.url = text;
    const code = document.createElement('code');
    code.textContent = text;
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.textContent = 'copy';
    copy.onclick = () => navigator.clipboard?.writeText(text).then(() => (copy.textContent = 'copied'));
    row.append(code, copy);
    box.append(row);
  }
}

/** Latency readout: how far behind the newest buffered media the picture is, and the decoder's counters. */
function tick() {
  if (state.player === null) return;
  const buffered = video.buffered;
  if (buffered.length > 0) {
    const behind = buffered.end(buffered.length - 1) - video.currentTime;
    $('latency').textContent = `${Math.round(behind * 1000)} ms behind the newest frame`;
  }
  const quality = video.getVideoPlaybackQuality?.();
  if (quality) {
    $('frames').textContent = String(quality.totalVideoFrames);
    $('dropped').textContent = String(quality.droppedVideoFrames);
  }
  const speed = state.player.statisticsInfo?.speed;
  $('speed').textContent = speed === undefined ? '–' : `${speed.toFixed(0)} KB/s`;
}

const formatters = {
  bitrate: (bps) => (bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`),
  uptime: (sec) => {
    const h = Math.floor(sec / 3600);
    const m = Math.floor((sec % 3600) / 60);
    const s = Math.floor(sec % 60);
    return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s).padStart(2, '0')}s`;
  },
  viewers: (s) => {
    const parts = Object.entries(s.playersByProtocol ?? {}).map(([p, n]) => `${n} ${p}`);
    return parts.length === 0 ? '0' : `${s.players} (${parts.join(', ')})`;
  },
};

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render(streams) {
  const body = $('streams');
  body.replaceChildren();
  const viewers = streams.reduce((n, s) => n + s.players, 0);
  $('summary').textContent = `${streams.length} live, ${viewers} watching`;
  if (streams.length === 0) {
    const row = document.createElement('tr');
    const td = cell(
      'No live streams. Publish with OBS or FFmpeg to rtmp://<this host>/<app>/<key>.',
      'empty',
    );
    td.colSpan = 9;
    row.append(td);
    body.append(row);
    return;
  }
  for (const s of streams) {
    const row = document.createElement('tr');
    row.dataset.stream = `${s.app}/${s.key}`;
    row.append(
      cell(`${s.app}/${s.key}`),
      cell(s.codecs.join(', ') || '–'),
      cell(s.resolution ?? '–'),
      cell(s.fps === null ? '–' : String(Math.round(s.fps * 100) / 100), 'num'),
      cell(formatters.bitrate(s.bitrate), 'num'),
      cell(formatters.uptime(s.uptimeSec), 'num'),
      cell(formatters.viewers(s)),
      cell(s.recording === null ? '–' : s.recording.split('/').pop()),
    );
    const watch = document.createElement('td');
    for (const [id, spec] of Object.entries(TRANSPORTS)) {
      if (!available(spec)) continue;
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.play = id;
      button.textContent = `▶ ${spec.label}`;
      button.onclick = () => play(s, id);
      watch.append(button, ' ');
    }
    row.append(watch);
    body.append(row);
  }
}

async function poll() {
  try {
    const answer = await fetch('/api/streams', { cache: 'no-store' });
    const { streams } = await answer.json();
    render(streams);
    return streams;
  } catch {
    $('summary').textContent = 'server unreachable, retrying…';
    return [];
  }
}

async function start() {
  try {
    state.info = await (await fetch('/api/dashboard')).json();
  } catch {
    // The defaults stand.
  }
  $('stop').onclick = stop;
  const streams = await poll();
  setInterval(poll, 1000);
  setInterval(tick, 250);
  // ?play=<app>/<key>&via=ws-flv|http-flv|hls plays at once (a shareable link; the tests use it too).
  const wanted = new URLSearchParams(location.search);
  const target = wanted.get('play');
  if (target !== null) {
    const [app, ...rest] = target.split('/');
    const stream = streams.find((s) => s.app === app && s.key === rest.join('/')) ?? {
      app,
      key: rest.join('/'),
    };
    play(stream, TRANSPORTS[wanted.get('via')] ? wanted.get('via') : 'ws-flv');
  }
}

start();
