import { concat } from '@rtmp/testing';

/** Deterministic byte source (xorshift32) for reproducible handshakes. */
export function seededRandom(seed: number): (size: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (size) => {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}

/** Feeds parts one by one; collects output and the bytes after the handshake. */
export function feed(
  machine: { push(b: Uint8Array): { output: Uint8Array[]; done: boolean; rest: Uint8Array } },
  parts: readonly Uint8Array[],
): { output: Uint8Array; done: boolean; rest: Uint8Array; doneAt: number } {
  const output: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  let done = false;
  let doneAt = -1;
  parts.forEach((part, i) => {
    const r = machine.push(part);
    output.push(...r.output);
    if (r.done) {
      if (!done) doneAt = i;
      done = true;
      rest.push(r.rest);
    } else if (r.rest.length !== 0) {
      throw new Error('rest before done');
    }
  });
  return { output: concat(output), done, rest: concat(rest), doneAt };
}
