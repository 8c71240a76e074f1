/** Messages between the harness and the latency probe process (probe-process.ts), over Node's IPC channel. */

/** Harness -> probe process. */
export type ToProbes =
  | { type: 'join'; id: number; url: string; stream: string }
  /** Counting on starts the window; counting off ends it and is answered by the last samples, then a report. */
  | { type: 'counting'; on: boolean }
  | { type: 'stop' };

/** Probe process -> harness. */
export type FromProbes =
  | { type: 'ready' }
  | { type: 'joined'; id: number }
  | { type: 'failed'; id: number; error: string }
  /** Flattened pairs: video key, monotonic ms of receipt. */
  | { type: 'samples'; samples: number[] }
  | {
      type: 'report';
      players: { id: number; bytes: number; closedEarly: boolean }[];
      /** CPU of the probe process over the window, % of one core: near 0 = it kept up at once. */
      cpuPercent: number;
    };
