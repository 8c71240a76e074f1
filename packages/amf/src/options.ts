import type { ExternalizableHandler } from './values.js';

/** Registry of externalizable class handlers, by class alias. */
export type ExternalizableRegistry =
  | ReadonlyMap<string, ExternalizableHandler>
  | Readonly<Record<string, ExternalizableHandler>>;

/** Decoder limits and options. Every limit is checked before anything sized by the input is allocated. */
export interface AmfDecodeOptions {
  /** Deepest nesting of objects/arrays. Default 64. */
  maxDepth?: number;
  /** Longest string, XML or ByteArray, in bytes. Default 1 MiB. */
  maxStringBytes?: number;
  /** Most items in one array, vector or dictionary. Default 1,048,576. */
  maxArrayLength?: number;
  /** Most properties in one object or ECMA array. Default 65,536. */
  maxObjectProperties?: number;
  /** Largest input accepted. Default 16 MiB (the largest RTMP message). */
  maxInputBytes?: number;
  /** Handlers for AMF3 externalizable classes. Without one, such an object is `ERR_AMF_EXTERNALIZABLE_UNSUPPORTED`. */
  externalizable?: ExternalizableRegistry;
  /**
   * Decode an AMF3 double that holds a value the encoder would write as an integer as {@link AmfDouble}, so that
   * re-encoding gives the same bytes. Default false (plain numbers).
   */
  exactNumbers?: boolean;
}

/** Encoder options. */
export interface AmfEncodeOptions {
  /** Deepest nesting written; deeper input is `ERR_AMF_DEPTH_EXCEEDED` (and cycles are written as references). Default 64. */
  maxDepth?: number;
  /** Handlers for AMF3 externalizable classes, used to write {@link Amf3Externalizable} values. */
  externalizable?: ExternalizableRegistry;
}

/** The defaults of {@link AmfDecodeOptions}. */
export const DEFAULT_DECODE_LIMITS = Object.freeze({
  maxDepth: 64,
  maxStringBytes: 1024 * 1024,
  maxArrayLength: 1024 * 1024,
  maxObjectProperties: 65536,
  maxInputBytes: 16 * 1024 * 1024,
});

export function lookupHandler(
  registry: ExternalizableRegistry | undefined,
  className: string,
): ExternalizableHandler | undefined {
  if (registry === undefined) return undefined;
  if (registry instanceof Map) return (registry as ReadonlyMap<string, ExternalizableHandler>).get(className);
  const record = registry as Readonly<Record<string, ExternalizableHandler>>;
  return Object.hasOwn(record, className) ? record[className] : undefined;
}
