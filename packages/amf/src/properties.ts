import { AMF_KIND, type AmfObject, type AmfValue, isAmfObject, Kind } from './values.js';

const EMPTY: Readonly<AmfObject> = Object.freeze(Object.create(null) as AmfObject);

/**
 * The properties of an anonymous AMF object, an ECMA array or a typed object: the record to read a command object or
 * `onMetaData` from, whichever of the three a peer sent. Anything else (a number, an array, a date, `null`...) gives
 * an empty record. The record itself is returned, not a copy; read it with {@link amfProperty} or with own-key
 * checks, since a plain object literal still has `Object.prototype`.
 */
export function amfProperties(value: unknown): Readonly<AmfObject> {
  if (typeof value !== 'object' || value === null) return EMPTY;
  const kind = (value as { [AMF_KIND]?: unknown })[AMF_KIND];
  if (kind === Kind.EcmaArray || kind === Kind.TypedObject)
    return (value as { properties: AmfObject }).properties;
  return isAmfObject(value) ? value : EMPTY;
}

/**
 * One property of an anonymous AMF object, an ECMA array or a typed object (see {@link amfProperties}); `undefined`
 * when absent. Only own keys count: `amfProperty({}, 'constructor')` is `undefined`.
 */
export function amfProperty(value: unknown, key: string): AmfValue | undefined {
  const record = amfProperties(value);
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
