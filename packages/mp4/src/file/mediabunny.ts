import type * as Mediabunny from 'mediabunny';
import { Mp4Error } from '../errors.js';

/** The mediabunny module, loaded on first use (an optional peer dependency: only file reading needs it). */
export type MediabunnyModule = typeof Mediabunny;

let loading: Promise<MediabunnyModule> | undefined;

/**
 * Loads mediabunny once. It is an optional peer dependency of `@rtmp/mp4`, so that the CMAF writer does not install
 * its 12 MB; reading a file without it installed fails here with a clear error.
 * @throws {Mp4Error} `ERR_MP4_READER_UNAVAILABLE` when mediabunny cannot be loaded
 */
export function loadMediabunny(): Promise<MediabunnyModule> {
  loading ??= import('mediabunny').catch((cause: unknown) => {
    loading = undefined;
    throw new Mp4Error(
      'ERR_MP4_READER_UNAVAILABLE',
      'reading MP4/MOV files needs the optional peer dependency mediabunny (npm install mediabunny)',
      { cause },
    );
  });
  return loading;
}
