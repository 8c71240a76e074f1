import { Decoder } from './decoder.js';
import { Encoder } from './encoder.js';
import { AmfError } from './errors.js';
import type { AmfDecodeOptions, AmfEncodeOptions } from './options.js';
import type { AmfValue } from './values.js';

/** RTMP message types that carry AMF: 20 command and 18 data (AMF0), 17 command and 15 data (AMF3 form). */
export const AmfMessageType = Object.freeze({
  /** Data message, AMF3 form (leading 0x00 byte, then AMF0 values that may switch to AMF3). */
  DataAmf3: 15,
  /** Command message, AMF3 form (leading 0x00 byte, then AMF0 values that may switch to AMF3). */
  CommandAmf3: 17,
  /** Data message (`@setDataFrame`, `onMetaData`, `|RtmpSampleAccess`), AMF0. */
  DataAmf0: 18,
  /** Command message (`connect`, `_result`, `onStatus`...), AMF0. */
  CommandAmf0: 20,
} as const);

/** An RTMP message type that carries AMF values. */
export type AmfMessageTypeValue = 15 | 17 | 18 | 20;

/**
 * One codec core kept for reuse, and a fresh one whenever the kept one is busy: a call re-enters when an
 * externalizable handler encodes or decodes, and must not clobber the outer call's state.
 */
class CorePool<C extends { readonly busy: boolean }> {
  private readonly kept: C;
  constructor(private readonly make: () => C) {
    this.kept = make();
  }
  get(): C {
    return this.kept.busy ? this.make() : this.kept;
  }
}

/**
 * A reusable AMF0 decoder with fixed limits. Decoding is synchronous and each call is independent.
 *
 * @example
 * ```ts
 * const decoder = new Amf0Decoder({ maxDepth: 16 });
 * const [name, txn, cmdObj] = decoder.decode(payload);
 * ```
 */
export class Amf0Decoder {
  private readonly cores: CorePool<Decoder>;
  /** @param options limits and externalizable handlers */
  constructor(options: AmfDecodeOptions = {}) {
    this.cores = new CorePool(() => new Decoder(options));
  }
  /**
   * Decodes every AMF0 value in `bytes[start..]` (AMF3 values after the 0x11 switch marker included).
   * @throws {AmfError} on malformed input or a limit exceeded; `offset` is relative to `bytes`
   */
  decode(bytes: Uint8Array, start = 0): AmfValue[] {
    return this.cores.get().decodeAmf0Sequence(bytes, start);
  }
}

/** A reusable AMF3 decoder with fixed limits: decodes a sequence of AMF3 values sharing one set of reference tables. */
export class Amf3Decoder {
  private readonly cores: CorePool<Decoder>;
  /** @param options limits and externalizable handlers */
  constructor(options: AmfDecodeOptions = {}) {
    this.cores = new CorePool(() => new Decoder(options));
  }
  /**
   * Decodes every AMF3 value in `bytes[start..]`.
   * @throws {AmfError} on malformed input or a limit exceeded
   */
  decode(bytes: Uint8Array, start = 0): AmfValue[] {
    return this.cores.get().decodeAmf3Sequence(bytes, start);
  }
}

/** A reusable AMF0 encoder: keeps one growing output buffer and returns a fresh copy per call. */
export class Amf0Encoder {
  private readonly cores: CorePool<Encoder>;
  /** @param options depth limit and externalizable handlers */
  constructor(options: AmfEncodeOptions = {}) {
    this.cores = new CorePool(() => new Encoder(options));
  }
  /**
   * Encodes `values` one after the other. Objects met twice are written as references; AMF3-only values
   * (ByteArray, vectors, dictionaries, E4X XML, mixed arrays, externalizables) after the 0x11 switch marker.
   * @throws {AmfError} `ERR_AMF_INVALID_VALUE` for values AMF cannot carry, `ERR_AMF_DEPTH_EXCEEDED`
   */
  encode(values: readonly AmfValue[]): Uint8Array {
    return this.cores.get().encodeAmf0Sequence(values);
  }
}

/** A reusable AMF3 encoder: values share one set of reference tables (strings, objects, traits). */
export class Amf3Encoder {
  private readonly cores: CorePool<Encoder>;
  /** @param options depth limit and externalizable handlers */
  constructor(options: AmfEncodeOptions = {}) {
    this.cores = new CorePool(() => new Encoder(options));
  }
  /**
   * Encodes `values` as one AMF3 stream.
   * @throws {AmfError} `ERR_AMF_INVALID_VALUE`, `ERR_AMF_DEPTH_EXCEEDED`, `ERR_AMF_EXTERNALIZABLE_UNSUPPORTED`
   */
  encode(values: readonly AmfValue[]): Uint8Array {
    return this.cores.get().encodeAmf3Sequence(values);
  }
}

const sharedDecoders = new CorePool(() => new Decoder());
const sharedEncoders = new CorePool(() => new Encoder());

function decoderFor(options: AmfDecodeOptions | undefined): Decoder {
  return options !== undefined ? new Decoder(options) : sharedDecoders.get();
}

function encoderFor(options: AmfEncodeOptions | undefined): Encoder {
  return options !== undefined ? new Encoder(options) : sharedEncoders.get();
}

/**
 * Encodes a sequence of values as AMF0.
 * @param values e.g. `['connect', 1, { app: 'live' }]`
 * @param options depth limit and externalizable handlers
 * @returns a new buffer
 * @throws {AmfError}
 */
export function encodeAmf0(values: readonly AmfValue[], options?: AmfEncodeOptions): Uint8Array {
  return encoderFor(options).encodeAmf0Sequence(values);
}

/**
 * Decodes every AMF0 value in `bytes` (a command or data message body).
 * @param bytes the input; decoded ByteArrays are views of it
 * @param options limits (safe defaults) and externalizable handlers
 * @throws {AmfError} with a stable `code` and the byte `offset`
 */
export function decodeAmf0(bytes: Uint8Array, options?: AmfDecodeOptions): AmfValue[] {
  return decoderFor(options).decodeAmf0Sequence(bytes, 0);
}

/**
 * Encodes a sequence of values as one AMF3 stream.
 * @throws {AmfError}
 */
export function encodeAmf3(values: readonly AmfValue[], options?: AmfEncodeOptions): Uint8Array {
  return encoderFor(options).encodeAmf3Sequence(values);
}

/**
 * Decodes every AMF3 value in `bytes`, sharing one set of reference tables.
 * @throws {AmfError} with a stable `code` and the byte `offset`
 */
export function decodeAmf3(bytes: Uint8Array, options?: AmfDecodeOptions): AmfValue[] {
  return decoderFor(options).decodeAmf3Sequence(bytes, 0);
}

function isAmf3Form(messageType: number): boolean {
  if (messageType === 20 || messageType === 18) return false;
  if (messageType === 17 || messageType === 15) return true;
  throw new AmfError('ERR_AMF_BAD_MESSAGE_TYPE', `message type ${messageType} does not carry AMF`, {
    offset: 0,
  });
}

/**
 * Decodes the body of an RTMP command or data message: types 20/18 are AMF0; types 17/15 start with one 0x00 byte,
 * then AMF0 values that may switch to AMF3.
 * @param payload the message body
 * @param messageType 15, 17, 18 or 20
 * @returns e.g. `['connect', 1, {...}]` or `['@setDataFrame', 'onMetaData', EcmaArray]`
 * @throws {AmfError} `ERR_AMF_BAD_MESSAGE_TYPE`, `ERR_AMF_BAD_FORMAT_BYTE`, or any decoding error (offsets relative
 * to `payload`)
 */
export function decodeCommandPayload(
  payload: Uint8Array,
  messageType: number,
  options?: AmfDecodeOptions,
): AmfValue[] {
  if (!isAmf3Form(messageType)) return decoderFor(options).decodeAmf0Sequence(payload, 0);
  if (payload.length === 0 || payload[0] !== 0x00) {
    throw new AmfError(
      'ERR_AMF_BAD_FORMAT_BYTE',
      `message type ${messageType} must start with a 0x00 format byte, got ${payload.length === 0 ? 'nothing' : `0x${payload[0]!.toString(16)}`}`,
      { offset: 0 },
    );
  }
  return decoderFor(options).decodeAmf0Sequence(payload, 1);
}

/**
 * Encodes the body of an RTMP command or data message (see {@link decodeCommandPayload}).
 * @param values e.g. `['_result', 1, props, info]`
 * @param messageType 15, 17, 18 or 20
 * @throws {AmfError}
 */
export function encodeCommandPayload(
  values: readonly AmfValue[],
  messageType: number,
  options?: AmfEncodeOptions,
): Uint8Array {
  return encoderFor(options).encodeAmf0Sequence(values, isAmf3Form(messageType) ? 0x00 : undefined);
}
