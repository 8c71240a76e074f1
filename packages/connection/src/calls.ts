import { type AmfValue, amfProperty } from '@rtmp/amf';
import { watchDeadline } from './deadline.js';
import { RtmpError } from './errors.js';
import type { RtmpCallResult } from './types.js';

/** An AMF value that should be a string (a status code, a description), or '' when it is anything else. */
export function amfText(value: AmfValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

// Most withdrawn or fire-and-forget transactions remembered per connection, to drop their late replies.
const MAX_IGNORED = 32;

interface PendingCall {
  resolve: (result: RtmpCallResult) => void;
  reject: (error: RtmpError) => void;
}

/** Options of one {@link CallTable.open}. */
export interface CallOptions {
  /** Milliseconds before the call fails with `ERR_RTMP_CALL_TIMEOUT`; 0 disables. */
  timeout: number;
  /** Withdraws the call (`ERR_RTMP_ABORTED`); the connection stays usable. */
  signal?: AbortSignal | undefined;
}

interface PendingPing {
  resolve: (rtt: number) => void;
  reject: (error: RtmpError) => void;
  sent: number;
}

/**
 * The transactions of one connection: command ids, pending calls with their timeouts and abort signals, the
 * transactions whose replies are to be dropped (withdrawn calls, fire-and-forget sends), and pending pings.
 */
export class CallTable {
  #next = 1;
  readonly #pending = new Map<number, PendingCall>();
  readonly #pings = new Map<number, PendingPing>();
  // Created on first use: most connections (players) never withdraw a call.
  #ignored: Set<number> | undefined;

  /** A fresh transaction id whose reply, if any, will be dropped. */
  fireAndForget(): number {
    const id = this.#next++;
    this.#ignore(id);
    return id;
  }

  /**
   * Registers a call and returns its transaction id and the promise of its reply; `send(id)` is called once the
   * call is registered, so a reply can never arrive before it is expected.
   */
  open(name: string, options: CallOptions, send: (transactionId: number) => void): Promise<RtmpCallResult> {
    const { signal, timeout } = options;
    if (signal?.aborted) {
      return Promise.reject(new RtmpError('ERR_RTMP_ABORTED', `${name} aborted`, { cause: signal.reason }));
    }
    const transactionId = this.#next++;
    return new Promise<RtmpCallResult>((resolve, reject) => {
      // A timeout or an abort withdraws the call: its transaction is forgotten and a late reply dropped. The
      // signal has not aborted yet, so the deadline cannot fire before the call is registered.
      const deadline = watchDeadline(
        // Zero, a negative or a NaN timeout sets no timer, as before.
        // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN, which watchDeadline refuses.
        { timeout: timeout > 0 ? timeout : 0, signal, ref: false },
        (reason) => {
          if (this.#pending.get(transactionId) !== pending) return;
          this.#pending.delete(transactionId);
          this.#ignore(transactionId);
          reject(
            reason === 'timeout'
              ? new RtmpError('ERR_RTMP_CALL_TIMEOUT', `no reply to ${name} within ${timeout} ms`)
              : new RtmpError('ERR_RTMP_ABORTED', `${name} aborted`, { cause: signal?.reason }),
          );
        },
      );
      const pending: PendingCall = {
        resolve: (result) => {
          deadline.clear();
          resolve(result);
        },
        reject: (error) => {
          deadline.clear();
          reject(error);
        },
      };
      this.#pending.set(transactionId, pending);
      send(transactionId);
    });
  }

  /**
   * Settles the call a `_result` or `_error` answers. Returns false when the reply answers no call of ours and was
   * not to be dropped either: the caller then treats it as an ordinary command.
   */
  settle(
    name: '_result' | '_error',
    transactionId: number,
    commandObject: AmfValue,
    args: AmfValue[],
  ): boolean {
    const pending = this.#pending.get(transactionId);
    if (pending === undefined) return this.#ignored?.delete(transactionId) === true;
    this.#pending.delete(transactionId);
    if (name === '_result') {
      pending.resolve({ commandObject, args });
    } else {
      const info = args[0];
      const reason = `${amfText(amfProperty(info, 'code')) || 'error'} ${amfText(amfProperty(info, 'description'))}`;
      pending.reject(
        new RtmpError('ERR_RTMP_CALL_FAILED', `call failed: ${reason}`.trim(), { detail: info }),
      );
    }
    return true;
  }

  /**
   * Registers a ping stamped `timestamp` and returns the round trip it resolves with when the peer answers;
   * `send()` is called once it is registered.
   */
  ping(timestamp: number, send: () => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#pings.set(timestamp, { resolve, reject, sent: Date.now() });
      send();
    });
  }

  /** Settles the ping a Ping Response stamped `timestamp` answers (nothing when it answers none). */
  pong(timestamp: number): void {
    const ping = this.#pings.get(timestamp);
    if (ping === undefined) return;
    this.#pings.delete(timestamp);
    ping.resolve(Date.now() - ping.sent);
  }

  /** Rejects every pending call and ping with `error` (the connection closed). */
  rejectAll(error: RtmpError): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    for (const ping of this.#pings.values()) ping.reject(error);
    this.#pings.clear();
  }

  #ignore(transactionId: number): void {
    const ignored = (this.#ignored ??= new Set());
    if (ignored.size >= MAX_IGNORED) {
      const oldest = ignored.values().next().value;
      if (oldest !== undefined) ignored.delete(oldest);
    }
    ignored.add(transactionId);
  }
}
