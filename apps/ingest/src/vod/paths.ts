import { realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';

/** The app players use for video on demand: `rtmp://host/vod/<file>`. */
export const VOD_APP = 'vod';

/** Whether a (normalised) connect app is the VOD app or one of its folders (`vod/sub`, as librtmp splits URLs). */
export function isVodApp(app: string): boolean {
  return app === VOD_APP || app.startsWith(`${VOD_APP}/`);
}

// FMS-style play names carry the container as a prefix (`mp4:movie.mp4`); FFmpeg and librtmp add `mp4:` to MP4 names
// and drop `.flv` from FLV names, librtmp drops `.mp4` too. So a name may come without its extension.
const PREFIXES: Record<string, readonly string[]> = {
  'mp4:': ['.mp4', '.m4v', '.mov', '.f4v'],
  'f4v:': ['.f4v', '.mp4'],
  'mov:': ['.mov'],
  'flv:': ['.flv'],
};
const BARE = ['.flv', '.mp4', '.mov', '.m4v', '.f4v'];

/** Why a name has no file: refused (it tries to leave the folder) or simply missing. */
export type VodLookup = { file: string } | { refused: string } | { missing: true };

/**
 * A relative path that stays inside its folder, or the reason it does not: no NUL, no absolute path, no `..`
 * segment, no backslash (a Windows separator), no empty name.
 */
export function checkRelative(relative: string): string | undefined {
  if (relative.includes('\0')) return 'NUL in the name';
  if (relative.includes('\\')) return 'backslash in the name';
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) return 'absolute path';
  const segments = relative.split('/');
  if (segments.includes('..')) return '".." in the path';
  if (segments.at(-1) === '' || segments.at(-1) === '.') return 'no file name';
  return undefined;
}

/** `%xx` escapes decoded (librtmp decodes them, FFmpeg sends them as typed); undefined when malformed. */
function percentDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The candidate relative paths of a play: the folder from the app (`vod/sub` -> `sub`), the name without its
 * container prefix, as sent and percent-decoded, with each extension the prefix allows when it has none.
 */
export function candidates(app: string, name: string): string[] {
  const folder = app === VOD_APP ? '' : app.slice(VOD_APP.length + 1);
  let bare = name;
  let extensions: readonly string[] = BARE;
  const prefix = /^[a-z0-9]{3}:/i.exec(name)?.[0]?.toLowerCase();
  if (prefix !== undefined && PREFIXES[prefix] !== undefined) {
    bare = name.slice(prefix.length);
    extensions = PREFIXES[prefix]!;
  }
  const joined = folder === '' ? bare : `${folder}/${bare}`;
  const forms = [joined];
  const decoded = percentDecoded(joined);
  if (decoded !== undefined && decoded !== joined) forms.push(decoded);
  const out: string[] = [];
  for (const form of forms) {
    out.push(form);
    if (path.extname(form) === '') for (const ext of extensions) out.push(form + ext);
  }
  return out;
}

/**
 * Finds the file a play asks for under `root` (which must be a real path: see {@link realRoot}). Every candidate is
 * checked before it touches the file system (NUL, absolute, `..`, also after percent-decoding: `%2e%2e`), then its
 * real path (symlinks followed) must still be inside `root` and be a regular file.
 */
export async function lookup(root: string, app: string, name: string): Promise<VodLookup> {
  const names = candidates(app, name);
  for (const relative of names) {
    const reason = checkRelative(relative);
    if (reason !== undefined) return { refused: reason };
  }
  for (const relative of names) {
    let real: string;
    try {
      real = await realpath(path.join(root, relative));
    } catch {
      continue;
    }
    const inside = path.relative(root, real);
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
      return { refused: 'a symbolic link that leads outside the folder' };
    }
    try {
      if ((await stat(real)).isFile()) return { file: real };
    } catch {
      // Gone meanwhile: like missing.
    }
  }
  return { missing: true };
}

/** The real path of the VOD folder (symlinks followed), the base every file must stay inside. */
export function realRoot(root: string): Promise<string> {
  return realpath(root);
}
