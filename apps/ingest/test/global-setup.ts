import { buildIfStale } from '@rtmp/testing';
import { APP_DIR } from './helpers.js';

/** The real-peer tests run the BUILT app: rebuild it when dist is missing or older than src. */
export default function setup(): void {
  buildIfStale(APP_DIR, 'dist/cli.js');
}
