/**
 * Write batching across connections. While a batch runs, every socket written to is corked once and uncorked once
 * when the outermost batch ends, so all the messages of one publisher read leave in one `writev` per player instead
 * of one per message. Process-global by nature (a relay's players are many sockets), hence module state; the only
 * way in is the scoped {@link batchWrites}, so a batch can never be left open.
 */

/** What a batch needs of a writer: its socket, and a flag that it is already in the batch. */
export interface BatchMember {
  readonly socket: { cork(): void; uncork(): void };
  inBatch: boolean;
}

let depth = 0;
const members: BatchMember[] = [];

/** True while a batch runs: writers call {@link joinBatch} before writing. */
export function batching(): boolean {
  return depth > 0;
}

/** Corks `member`'s socket until the outermost batch ends (once per batch). */
export function joinBatch(member: BatchMember): void {
  if (member.inBatch) return;
  member.inBatch = true;
  member.socket.cork();
  members.push(member);
}

/** Runs `fn` inside a write batch and returns its result; batches nest, and only the outermost end flushes. */
export function batchWrites<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    if (--depth === 0) flush();
  }
}

function flush(): void {
  // Write errors surface asynchronously, so no listener runs (and no new batch starts) inside this loop.
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    member.inBatch = false;
    member.socket.uncork();
  }
  members.length = 0;
}
