import { RtmpError } from './errors.js';

/** What the keepalive needs of its connection. */
export interface KeepaliveHost {
  /** True once the connection is closed or closing: the keepalive then does nothing. */
  readonly closed: boolean;
  /** True once the handshake has completed (pings are sent only then). */
  readonly ready: boolean;
  /** Ends the connection with `error`. */
  destroy(error: RtmpError): void;
  /** Sends a ping request; its answer counts as received bytes. */
  ping(): Promise<number>;
}

/**
 * The connection's timers: the handshake deadline, then one interval (a quarter of the shortest period, at least
 * 50 ms) that closes a silent peer after `idleTimeout` and pings it after `pingInterval`. No timer per message:
 * receiving only stamps the time.
 */
export class Keepalive {
  readonly #host: KeepaliveHost;
  readonly #idleTimeout: number;
  readonly #pingInterval: number;
  #lastReceive = Date.now();
  #pingOutstanding = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;

  constructor(
    host: KeepaliveHost,
    options: { handshakeTimeout: number; idleTimeout: number; pingInterval: number },
  ) {
    this.#host = host;
    this.#idleTimeout = options.idleTimeout;
    this.#pingInterval = options.pingInterval;
    if (options.handshakeTimeout > 0) {
      this.#handshakeTimer = setTimeout(() => {
        host.destroy(new RtmpError('ERR_RTMP_HANDSHAKE_TIMEOUT', 'handshake did not complete in time'));
      }, options.handshakeTimeout).unref();
    }
    const periods = [this.#idleTimeout, this.#pingInterval].filter((p) => p > 0);
    if (periods.length > 0) {
      const tick = Math.max(50, Math.floor(Math.min(...periods) / 4));
      this.#interval = setInterval(() => this.#tick(), tick).unref();
    }
  }

  /** Something arrived from the peer. */
  received(): void {
    this.#lastReceive = Date.now();
    this.#pingOutstanding = false;
  }

  /** The handshake completed: its deadline no longer applies. */
  handshakeDone(): void {
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
  }

  /** Stops every timer (the connection is closing). */
  stop(): void {
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#interval);
    this.#handshakeTimer = undefined;
    this.#interval = undefined;
  }

  #tick(): void {
    // While the handshake timer runs it alone decides, so a stalled handshake always ends with the same error code.
    const host = this.#host;
    if (host.closed || this.#handshakeTimer !== undefined) return;
    const silent = Date.now() - this.#lastReceive;
    if (this.#idleTimeout > 0 && silent >= this.#idleTimeout) {
      host.destroy(
        this.#pingOutstanding
          ? new RtmpError('ERR_RTMP_PING_TIMEOUT', `peer did not answer pings for ${silent} ms`)
          : new RtmpError('ERR_RTMP_IDLE_TIMEOUT', `nothing received for ${silent} ms`),
      );
      return;
    }
    if (host.ready && this.#pingInterval > 0 && silent >= this.#pingInterval && !this.#pingOutstanding) {
      this.#pingOutstanding = true;
      // The answer (or its absence) is judged by the idle check above, not by this promise.
      host.ping().catch(() => {});
    }
  }
}
