import { RtmpError, watchDeadline } from '@rtmp/connection';
import { RtmpClientError, type RtmpClientErrorCode, type RtmpClientStep, toClientError } from './errors.js';
import type { StepOptions } from './options.js';
import { refusalReason, statusOf } from './status.js';

/**
 * Runs one step of the client under its timeout and the caller's signal. When either fires first, the step fails
 * with `ERR_RTMP_TIMEOUT` / `ERR_RTMP_ABORTED`, the signal given to `run` aborts (a pending call of the core is
 * withdrawn through it) and `abandon` undoes what the step started (deleteStream for a publish or play; a connect
 * destroys its connection, whose state would be unknown). Whatever else ends the step becomes an
 * {@link RtmpClientError} of the step.
 */
export async function runStep<T>(
  step: RtmpClientStep,
  options: StepOptions,
  defaultTimeout: number,
  abandon: () => void,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = options.timeout ?? defaultTimeout;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new RtmpClientError('ERR_RTMP_INVALID_OPTION', step, 'timeout must be a non-negative number');
  }
  const signal = options.signal;
  const aborted = () =>
    new RtmpClientError('ERR_RTMP_ABORTED', step, `${step} aborted`, { cause: signal?.reason });
  if (signal?.aborted) {
    abandon();
    throw aborted();
  }
  const controller = new AbortController();
  let deadline: ReturnType<typeof watchDeadline> | undefined;
  const guard = new Promise<never>((_, reject) => {
    deadline = watchDeadline({ timeout, signal }, (reason) => {
      const error =
        reason === 'timeout'
          ? new RtmpClientError('ERR_RTMP_TIMEOUT', step, `${step} did not complete within ${timeout} ms`)
          : aborted();
      reject(error);
      controller.abort(error);
      abandon();
    });
  });
  const work = run(controller.signal);
  // The step's outcome is the race's: a step that loses it (its error is the guard's) must not surface again as an
  // unhandled rejection.
  work.catch(() => {});
  try {
    return await Promise.race([work, guard]);
  } catch (error) {
    throw toClientError(error, step, 'ERR_RTMP_CLOSED');
  } finally {
    deadline?.clear();
  }
}

/** The error of a step that the server's connection closed under. */
export function closedError(step: RtmpClientStep): RtmpClientError {
  return new RtmpClientError('ERR_RTMP_CLOSED', step, `${step}: the server closed the connection`);
}

/** A call's `_error` becomes `code` with the server's status; anything else keeps its own meaning. */
export function rejection(error: unknown, step: RtmpClientStep, code: RtmpClientErrorCode): RtmpClientError {
  if (error instanceof RtmpError && error.code === 'ERR_RTMP_CALL_FAILED') {
    const status = statusOf(error.detail);
    return new RtmpClientError(code, step, `${step} rejected by the server: ${refusalReason(status)}`, {
      cause: error,
      status,
    });
  }
  return toClientError(error, step, 'ERR_RTMP_CLOSED');
}
