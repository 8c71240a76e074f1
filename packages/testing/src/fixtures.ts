import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fixtures folder: `$RTMP_FIXTURES` when set, else `fixtures/` at the repository root, which every clone carries
 * (this file sits at `<repo>/packages/testing/src/`, so the answer does not depend on which package imports it).
 */
export const FIXTURES: string =
  process.env.RTMP_FIXTURES ||
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures');

/** The path of a fixture, relative to {@link FIXTURES} (e.g. `captures/x.rtmpcap`). */
export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** The bytes of a fixture file. */
export function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixture(name)));
}

/** A fixture CSV (the `.packets.csv` / `.tags.csv` oracles) as rows of raw cells; blank lines dropped. */
export function readCsv(name: string): string[][] {
  return readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(','));
}
