import { type AmfObject, type AmfValue, amfProperties, createAmfObject } from '@rtmp/amf';

/** Splits `key?a=1&b=2` into the key and its query parameters. Never throws. */
export function parseStreamName(name: string): { key: string; query: Record<string, string> } {
  const query: Record<string, string> = Object.create(null);
  const mark = name.indexOf('?');
  if (mark < 0) return { key: name, query };
  try {
    for (const [k, v] of new URLSearchParams(name.slice(mark + 1))) query[k] = v;
  } catch {
    // A malformed query string leaves the query empty; the key is still usable.
  }
  return { key: name.slice(0, mark), query };
}

/**
 * The connect `app` as the server's streams are keyed by it: trailing slashes removed (`live/` is `live`, `/` is
 * ''). Nothing else is touched: case is kept and a `?query` stays part of the app (`live?token=1` is its own app).
 * `LiveRelay` keys streams by `<normaliseApp(app)>/<name>`; an application that keys its own tables by app should use
 * the same function so that it agrees with the relay.
 */
export function normaliseApp(app: string): string {
  let end = app.length;
  while (end > 0 && app.charCodeAt(end - 1) === 0x2f) end--;
  return end === app.length ? app : app.slice(0, end);
}

/**
 * The record of an AMF object, ECMA array or typed object for a handler (a command object, `onMetaData`). When the
 * value has none, a fresh empty record: the handler owns what it is given, and `amfProperties`'s empty one is shared.
 */
export function recordFor(value: AmfValue | undefined): AmfObject {
  const properties = amfProperties(value);
  return Object.isFrozen(properties) ? createAmfObject() : properties;
}
