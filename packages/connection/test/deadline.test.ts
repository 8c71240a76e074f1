import { describe, expect, it } from 'vitest';
import { type DeadlineReason, RtmpError, watchDeadline } from '../src/index.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchDeadline', () => {
  it('fires once on its timeout, then watches nothing', async () => {
    const controller = new AbortController();
    const fired: DeadlineReason[] = [];
    const deadline = watchDeadline({ timeout: 20, signal: controller.signal }, (r) => fired.push(r));
    expect(deadline.fired).toBeUndefined();
    await tick(60);
    controller.abort();
    expect(fired).toEqual(['timeout']);
    expect(deadline.fired).toBe('timeout');
  });

  it('fires on the signal before the timeout, and the timer is cleared', async () => {
    const controller = new AbortController();
    const fired: DeadlineReason[] = [];
    watchDeadline({ timeout: 30, signal: controller.signal }, (r) => fired.push(r));
    controller.abort();
    await tick(60);
    expect(fired).toEqual(['abort']);
  });

  it('an already aborted signal fires at once, synchronously', () => {
    const fired: DeadlineReason[] = [];
    const deadline = watchDeadline({ timeout: 1_000, signal: AbortSignal.abort() }, (r) => fired.push(r));
    expect(fired).toEqual(['abort']);
    expect(deadline.fired).toBe('abort');
  });

  it('clear() and using stop it; timeout 0 sets no timer', async () => {
    const controller = new AbortController();
    const fired: DeadlineReason[] = [];
    const cleared = watchDeadline({ timeout: 10, signal: controller.signal }, (r) => fired.push(r));
    cleared.clear();
    cleared.clear();
    {
      using _disposed = watchDeadline({ timeout: 10 }, (r) => fired.push(r));
    }
    watchDeadline({ timeout: 0 }, (r) => fired.push(r)).clear();
    const noTimer = watchDeadline({}, (r) => fired.push(r));
    controller.abort();
    await tick(40);
    expect(fired).toEqual([]);
    expect(noTimer.fired).toBeUndefined();
  });

  it('an unref-ed timer still fires while something else keeps the process alive', async () => {
    const fired: DeadlineReason[] = [];
    watchDeadline({ timeout: 10, ref: false }, (r) => fired.push(r));
    await tick(40);
    expect(fired).toEqual(['timeout']);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])('refuses timeout %s', (timeout) => {
    let error: unknown;
    try {
      watchDeadline({ timeout }, () => {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RtmpError);
    expect(error).toMatchObject({ code: 'ERR_RTMP_INVALID_OPTION' });
  });
});
