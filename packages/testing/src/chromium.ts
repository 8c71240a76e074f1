import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { missing, toolAvailable } from './tools.js';

/** Debian's Chromium (package `chromium`), the one browser the tests drive: no browser is ever downloaded. */
export const CHROMIUM = process.env.RTMP_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The flags every test and benchmark starts Chromium with: headless, no sandbox (root in CI), no GPU, and none of
 * the background traffic (component updates, sync, QUIC probes) that a closed network refuses many times a start.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Media plays in a background tab too, without a user gesture.
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Whether Debian's Chromium is installed, for `describe.skipIf(!hasChromium())`: missing, it is a loud warning and
 * `false` locally, and an error under `CI=true` (`.ci/run` installs the `chromium` package).
 */
export function hasChromium(): boolean {
  if (existsSync(CHROMIUM) && toolAvailable(CHROMIUM, ['--version'])) return true;
  missing(`Chromium (${CHROMIUM}, Debian package chromium)`);
  return false;
}

/** A Chromium started by {@link launchChromium}; `close()` also removes its profile folder. */
export interface RunningChromium {
  /** Its one browser context (pages: `context.newPage()`). */
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Debian's Chromium through playwright-core with {@link CHROMIUM_ARGS} and a new, empty profile folder
 * (removed by `close()`).
 */
export async function launchChromium(): Promise<RunningChromium> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'rtmp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    headless: true,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
