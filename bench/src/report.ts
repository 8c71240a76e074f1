/**
 * The tables of a benchmark run: ingest (one row per server, ratios to nginx-rtmp per interleaved round), fan-out
 * (one row per figure, one column per server) and the targets of issue 18 with what this run measured.
 */
import { type FanoutResult, type IngestResult, perGb } from './scenarios.js';
import { REFERENCE, SERVER_LABELS, SERVER_NAMES, type ServerName } from './servers.js';

const MB = 1024 * 1024;

const fixed = (digits: number) => (v: number | undefined) =>
  v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : '-';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Ratio of `server`'s warm CPU per GB to its reference's, over all runs, and the range of the per-round ratios. */
export interface IngestRatio {
  reference: ServerName;
  mean: number;
  min: number;
  max: number;
  /**
   * Median run / the reference's median run: steadier than the mean when a few runs catch the machine's noise (one
   * 115.6 MB ingest is 5-12 clock ticks, and nginx-rtmp's system time jumps when other work shares the CPU).
   */
  median: number;
}

/** The ratio of `result` to its reference server (same rounds), when that server ran. */
export function ingestRatio(result: IngestResult, all: readonly IngestResult[]): IngestRatio | undefined {
  const reference = REFERENCE[result.server];
  const ref = all.find((r) => r.server === reference);
  if (reference === undefined || ref === undefined) return undefined;
  const perRound = result.runs.map((run, i) => {
    const other = ref.runs[i];
    return other === undefined ? Number.NaN : perGb(run) / perGb(other);
  });
  return {
    reference,
    mean: result.cpuPerGb / ref.cpuPerGb,
    min: Math.min(...perRound),
    max: Math.max(...perRound),
    median: median(result.runs.map(perGb)) / median(ref.runs.map(perGb)),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The ingest table: one row per server. */
export function ingestTable(results: readonly IngestResult[]): string {
  const short = (s: ServerName): string => (s === 'nginx-rtmp-record' ? 'nginx rec' : 'nginx');
  const rows = results.map((r) => {
    const ratio = ingestRatio(r, results);
    const recorded = Number.isFinite(r.recordedRatio)
      ? ` (recorded ${r.recordedRatio.toFixed(3)} of sent)`
      : '';
    return [
      `${SERVER_LABELS[r.server]}${recorded}`,
      fixed(2)(r.cpuPerGb),
      `${fixed(2)(r.bestCpuPerGb)} - ${fixed(2)(r.worstCpuPerGb)}`,
      `${fixed(2)(r.userPerGb)} / ${fixed(2)(r.systemPerGb)}`,
      ratio
        ? `${fixed(2)(ratio.mean)} x ${short(ratio.reference)} (${fixed(2)(ratio.min)} - ${fixed(2)(ratio.max)})`
        : '',
      fixed(2)(r.coldCpuPerGb),
      fixed(1)(r.mbPerSecond),
      fixed(1)(r.peakRss / MB),
    ];
  });
  return table(
    [
      'server',
      'warm CPU s per GB',
      'runs (best - worst)',
      'user / system s per GB',
      'ratio (per-round range)',
      'cold CPU s per GB',
      'MB/s',
      'peak RSS MB',
    ],
    rows,
  );
}

type Pick = (r: FanoutResult) => number;

/**
 * The fan-out table: one row per figure and player count, one column per server (in {@link SERVER_NAMES} order, so
 * the fan-out floor stands next to the bare server), ratios to nginx-rtmp, and the bare server's ratio to the floor.
 */
export function fanoutTable(results: readonly FanoutResult[], steps: readonly number[]): string {
  const servers = [...new Set(results.map((r) => r.server))].sort(
    (a, b) => SERVER_NAMES.indexOf(a) - SERVER_NAMES.indexOf(b),
  );
  const ratioOf = servers.filter(
    (s) => s === 'ours' || s.startsWith('floor-fanout') || s === 'ingest' || s.endsWith('-base'),
  );
  const hasNginx = servers.includes('nginx-rtmp');
  const hasFloor = servers.includes('ours') && servers.includes('floor-fanout');
  const figures: [string, Pick, (v: number | undefined) => string, boolean][] = [
    ['server CPU % of one core', (r) => r.cpuPercent, fixed(1), true],
    ['server peak RSS MB', (r) => r.peakRss / MB, fixed(1), true],
    ['players >= 95% of bytes', (r) => r.playersAt95, fixed(0), false],
    ['bytes per player / sent, min', (r) => r.minDelivered, fixed(3), false],
    ['bytes per player / sent, median', (r) => r.medianDelivered, fixed(3), false],
    ['latency added by the server (probe process) p50 ms', (r) => r.probeLatencyP50, fixed(2), true],
    ['latency added by the server (probe process) p90 ms', (r) => r.probeLatencyP90, fixed(1), true],
    ['latency added by the server (probe process) p99 ms', (r) => r.probeLatencyP99, fixed(1), true],
    ['latency harness-observed, upper bound, p50 ms', (r) => r.latencyP50, fixed(1), true],
    ['latency harness-observed, upper bound, p99 ms', (r) => r.latencyP99, fixed(1), true],
    ['harness CPU % (publisher + players process)', (r) => r.harnessCpuPercent, fixed(0), false],
    ['probe process CPU %', (r) => r.probeCpuPercent, fixed(1), false],
    [
      'rtmpdump FLV bytes / sent, min',
      (r) => (r.rtmpdump.length ? Math.min(...r.rtmpdump) : Number.NaN),
      fixed(3),
      false,
    ],
  ];
  const rows: string[][] = [];
  for (const players of steps) {
    const step = results.filter((r) => r.players === players);
    if (step.length === 0) continue;
    const value = (server: ServerName, pick: Pick): number | undefined => {
      const r = step.find((x) => x.server === server);
      return r === undefined ? undefined : pick(r);
    };
    for (const [label, pick, format, ratios] of figures) {
      const nginx = value('nginx-rtmp', pick);
      const ours = value('ours', pick);
      const floor = value('floor-fanout', pick);
      rows.push([
        `fan-out ${players}: ${label}`,
        ...servers.map((s) => (step.some((x) => x.server === s) ? format(value(s, pick)) : 'failed')),
        ...(hasNginx
          ? ratioOf.map((s) => {
              const v = value(s, pick);
              return ratios && v !== undefined && nginx !== undefined && nginx !== 0
                ? fixed(2)(v / nginx)
                : '';
            })
          : []),
        ...(hasFloor
          ? [ratios && ours !== undefined && floor !== undefined && floor !== 0 ? fixed(2)(ours / floor) : '']
          : []),
      ]);
    }
  }
  return table(
    [
      'figure',
      ...servers.map((s) => SERVER_LABELS[s]),
      ...(hasNginx ? ratioOf.map((s) => `${s}/nginx`) : []),
      ...(hasFloor ? ['ours/floor-fanout'] : []),
    ],
    rows,
  );
}

/** One target of issue 18 and what the run measured. */
interface Target {
  target: string;
  measured: string;
  met: boolean | undefined;
  /** A row of a floor (ingest or fan-out): not ours to meet, it shows whether Node can (met = the floor is within it). */
  floor?: boolean;
}

function metCell(t: Target): string {
  if (t.met === undefined) return '?';
  if (t.floor) return t.met ? 'floor: within' : 'floor: above';
  return t.met ? 'yes' : '**no**';
}

/** The targets of issue 18 (ratios to nginx-rtmp in the same run), as far as this run measured them. */
export function targetsTable(
  ingestResults: readonly IngestResult[],
  fanoutResults: readonly FanoutResult[],
): string {
  const targets: Target[] = [];
  const ingestRatioOf = (server: ServerName) => {
    const r = ingestResults.find((x) => x.server === server);
    return r && ingestRatio(r, ingestResults);
  };
  // The floor a Node ingest server cannot go below: it reads and chunk-decodes (one copy per payload).
  const decodeFloor = ingestRatioOf('floor-decode');
  const ingestRatioTarget = (server: ServerName, limit: number, what: string, floor = false): void => {
    const ratio = ingestRatioOf(server);
    if (!ratio) return;
    const toFloor =
      !floor && decodeFloor && ratio.reference === 'nginx-rtmp'
        ? `; the decode floor ${fixed(2)(decodeFloor.mean)}x, medians ${fixed(2)(decodeFloor.median)}x`
        : '';
    targets.push({
      target: `${what}: ingest CPU per GB <= ${limit}x ${SERVER_LABELS[ratio.reference]}`,
      measured:
        `${fixed(2)(ratio.mean)}x (rounds ${fixed(2)(ratio.min)} - ${fixed(2)(ratio.max)}; ` +
        `medians ${fixed(2)(ratio.median)}x${toFloor})`,
      met: ratio.mean <= limit,
      floor,
    });
  };
  ingestRatioTarget('ingest', 1.5, 'apps/ingest, default flags');
  ingestRatioTarget('ours', 1.2, 'bare server');
  ingestRatioTarget('floor-decode', 1.2, SERVER_LABELS['floor-decode'], true);
  ingestRatioTarget('ingest-record', 1.5, 'apps/ingest recording to FLV');
  const decodeFloorRun = ingestResults.find((r) => r.server === 'floor-decode');
  if (decodeFloorRun) {
    targets.push({
      target: `${SERVER_LABELS['floor-decode']}: peak RSS under ingest <= 64 MB`,
      measured: `${fixed(1)(decodeFloorRun.peakRss / MB)} MB`,
      met: decodeFloorRun.peakRss <= 64 * MB,
      floor: true,
    });
  }
  const fan = (server: ServerName, players: number) =>
    fanoutResults.find((r) => r.server === server && r.players === players);
  const floor200 = fan('floor-fanout', 200);
  for (const server of ['ours', 'floor-fanout', 'floor-fanout-nagle', 'ingest'] as const) {
    const label = SERVER_LABELS[server];
    const floor = server.startsWith('floor-fanout');
    const at200 = fan(server, 200);
    const nginx200 = fan('nginx-rtmp', 200);
    if (at200 && nginx200) {
      const ratio = at200.cpuPercent / nginx200.cpuPercent;
      const toFloor =
        !floor && floor200 ? `; ${fixed(2)(at200.cpuPercent / floor200.cpuPercent)}x the fan-out floor` : '';
      targets.push({
        target: `${label}: fan-out 200 server CPU <= 1.0x nginx-rtmp`,
        measured: `${fixed(2)(ratio)}x (${fixed(1)(at200.cpuPercent)} % vs ${fixed(1)(nginx200.cpuPercent)} %${toFloor})`,
        met: ratio <= 1.0,
        floor,
      });
    }
    if (at200) {
      targets.push({
        target: `${label}: fan-out 200 server peak RSS <= 64 MB`,
        measured: `${fixed(1)(at200.peakRss / MB)} MB`,
        met: at200.peakRss <= 64 * MB,
        floor,
      });
      targets.push({
        target: `${label}: fan-out 200 every player >= 95 % of bytes`,
        measured: `${at200.playersAt95} of 200`,
        met: at200.playersAt95 === 200,
        floor,
      });
    }
    const ingested = ingestResults.find((r) => r.server === server);
    if (ingested) {
      targets.push({
        target: `${label}: peak RSS under ingest <= 64 MB`,
        measured: `${fixed(1)(ingested.peakRss / MB)} MB`,
        met: ingested.peakRss <= 64 * MB,
      });
    }
    const at50 = fan(server, 50);
    const nginx50 = fan('nginx-rtmp', 50);
    if (at50) {
      targets.push({
        target: `${label}: publish-to-play latency, 50 players, p50 <= 1 ms`,
        measured: `${fixed(2)(at50.probeLatencyP50)} ms (nginx-rtmp ${fixed(2)(nginx50?.probeLatencyP50)} ms)`,
        met: at50.probeLatencyP50 <= 1,
        floor,
      });
      if (nginx50) {
        targets.push({
          target: `${label}: publish-to-play latency, 50 players, p99 <= nginx-rtmp's`,
          measured: `${fixed(1)(at50.probeLatencyP99)} ms vs ${fixed(1)(nginx50.probeLatencyP99)} ms`,
          met: at50.probeLatencyP99 <= nginx50.probeLatencyP99,
          floor,
        });
      }
    }
  }
  return table(
    ['target (issue 18)', 'this run', 'met'],
    targets.map((t) => [t.target, t.measured, metCell(t)]),
  );
}
