/**
 * The JS value model shared by the AMF0 and AMF3 codecs.
 *
 * Plain JS values are used where the mapping is unambiguous; wrapper classes mark what AMF distinguishes and JS
 * does not. Every wrapper carries a numeric brand under a `Symbol.for` key instead of relying on `instanceof`, so
 * values built by the ESM copy of this package encode correctly with the CJS copy (dual package hazard).
 */

/** Global symbol under which every wrapper's prototype stores its kind; shared across package copies. */
export const AMF_KIND: unique symbol = Symbol.for('@rtmp/amf.kind') as never;

/** Numeric kinds stored under {@link AMF_KIND}. Internal, but stable within a major version. */
export enum Kind {
  EcmaArray = 1,
  TypedObject = 2,
  XmlDocument = 3,
  Date = 4,
  Unsupported = 5,
  Integer = 6,
  Double = 7,
  Xml = 8,
  Array = 9,
  Vector = 10,
  Dictionary = 11,
  Externalizable = 12,
}

/** An anonymous AMF object: a record decoded with a null prototype, so a `__proto__` key is just a key. */
export interface AmfObject {
  [key: string]: AmfValue;
}

/** Every value the codecs read or write. */
export type AmfValue =
  | number
  | boolean
  | string
  | null
  | undefined
  | Date
  | Uint8Array
  | AmfValue[]
  | AmfObject
  | EcmaArray
  | TypedObject
  | AmfXmlDocument
  | AmfDate
  | AmfUnsupported
  | AmfInteger
  | AmfDouble
  | Amf3Xml
  | Amf3Array
  | Amf3Vector
  | Amf3Dictionary
  | Amf3Externalizable;

function brand(ctor: { prototype: object }, kind: Kind): void {
  Object.defineProperty(ctor.prototype, AMF_KIND, { value: kind, enumerable: false, writable: false });
}

/** Creates an empty record with a null prototype, the shape every decoded object uses. */
export function createAmfObject(): AmfObject {
  return Object.create(null) as AmfObject;
}

/**
 * True for an anonymous AMF object: a record with a null prototype (as decoded) or a plain object literal. False for
 * arrays, dates, byte arrays and the wrapper classes.
 */
export function isAmfObject(value: unknown): value is AmfObject {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}

/**
 * An associative ("ECMA") array: AMF0 marker 0x08, and in AMF3 an array with only an associative part.
 * `onMetaData` is sent as one.
 */
export class EcmaArray {
  /** The entries, in order. Decoded instances use a null-prototype record. */
  properties: AmfObject;
  /** @param properties entries in order; the record is kept, not copied. */
  constructor(properties: AmfObject = createAmfObject()) {
    this.properties = properties;
  }
}
brand(EcmaArray, Kind.EcmaArray);

/** AMF3 trait details a {@link TypedObject} keeps when they differ from the default (all members sealed). */
export interface Amf3Traits {
  /** Names of the sealed members, in wire order; every other property is dynamic. */
  readonly sealed: readonly string[];
  /** Whether the class is dynamic (accepts members beyond the sealed ones). */
  readonly dynamic: boolean;
}

/**
 * An object with a class name: AMF0 marker 0x10, or an AMF3 object whose traits are not the anonymous dynamic ones.
 * Without `traits`, AMF3 writes every property as a sealed member of a non-dynamic class.
 */
export class TypedObject {
  /** The class alias ("" for an anonymous class with sealed members in AMF3). */
  className: string;
  /** The members, sealed ones first. */
  properties: AmfObject;
  /** AMF3 traits when the class is dynamic; `null` means "every property sealed, not dynamic". */
  traits: Amf3Traits | null;
  /**
   * @param className class alias
   * @param properties members in order; kept, not copied
   * @param traits AMF3 traits of a dynamic class, or null
   */
  constructor(
    className: string,
    properties: AmfObject = createAmfObject(),
    traits: Amf3Traits | null = null,
  ) {
    this.className = className;
    this.properties = properties;
    this.traits = traits;
  }
}
brand(TypedObject, Kind.TypedObject);

/** An XML document: AMF0 marker 0x0F and AMF3 marker 0x07 (the legacy `flash.xml.XMLDocument`). */
export class AmfXmlDocument {
  /** The XML source text. */
  xml: string;
  /** @param xml the XML source text */
  constructor(xml: string) {
    this.xml = xml;
  }
}
brand(AmfXmlDocument, Kind.XmlDocument);

/** An E4X XML value: AMF3 marker 0x0B. In AMF0 it is written after the switch marker 0x11. */
export class Amf3Xml {
  /** The XML source text. */
  xml: string;
  /** @param xml the XML source text */
  constructor(xml: string) {
    this.xml = xml;
  }
}
brand(Amf3Xml, Kind.Xml);

/**
 * An AMF0 date with a non-zero timezone field. Dates whose timezone is 0 (what every modern peer sends) decode as a
 * plain `Date`. AMF3 has no timezone, so AMF3 writes only the date.
 */
export class AmfDate {
  /** The instant. */
  date: Date;
  /** The AMF0 timezone field: a signed 16-bit offset in minutes. */
  timezone: number;
  /**
   * @param date the instant
   * @param timezone signed 16-bit minutes, as on the wire
   */
  constructor(date: Date, timezone: number) {
    this.date = date;
    this.timezone = timezone;
  }
}
brand(AmfDate, Kind.Date);

/** The AMF0 "unsupported" marker 0x0D. Decoding always yields {@link AMF_UNSUPPORTED}. */
export class AmfUnsupported {}
brand(AmfUnsupported, Kind.Unsupported);

/** The value decoded for AMF0 marker 0x0D. */
export const AMF_UNSUPPORTED: AmfUnsupported = new AmfUnsupported();

/**
 * Forces an AMF3 integer (marker 0x04). Plain numbers already use it when they are integers in the signed 29-bit range;
 * this wrapper makes the intent explicit and fails to encode when the value does not fit. AMF0 writes a number.
 */
export class AmfInteger {
  /** The integer value, in [-2^28, 2^28 - 1]. */
  value: number;
  /** @param value the integer value */
  constructor(value: number) {
    this.value = value;
  }
}
brand(AmfInteger, Kind.Integer);

/**
 * Forces an AMF3 double (marker 0x05) for a number that would otherwise be written as an integer. The AMF3 decoder
 * produces it only with the `exactNumbers` option, for doubles an encoder would have written as integers.
 */
export class AmfDouble {
  /** The number. */
  value: number;
  /** @param value the number */
  constructor(value: number) {
    this.value = value;
  }
}
brand(AmfDouble, Kind.Double);

/**
 * An AMF3 array with both a dense and an associative part. Arrays with only a dense part decode as JS arrays and
 * arrays with only an associative part as {@link EcmaArray}.
 */
export class Amf3Array {
  /** The dense (ordinal) part. */
  dense: AmfValue[];
  /** The associative part, in order. */
  associative: AmfObject;
  /**
   * @param dense the ordinal items
   * @param associative the named entries; kept, not copied
   */
  constructor(dense: AmfValue[] = [], associative: AmfObject = createAmfObject()) {
    this.dense = dense;
    this.associative = associative;
  }
}
brand(Amf3Array, Kind.Array);

/** The element type of an {@link Amf3Vector}: markers 0x0D, 0x0E, 0x0F and 0x10. */
export type Amf3VectorType = 'int' | 'uint' | 'double' | 'object';

/** An AMF3 `Vector.<T>`. */
export class Amf3Vector {
  /** Element type. */
  type: Amf3VectorType;
  /** Elements: numbers for the numeric types (int32, uint32, float64), any value for 'object'. */
  items: AmfValue[];
  /** Whether the vector has a fixed length. */
  fixed: boolean;
  /** Element class alias for 'object' vectors ("" or "*" for any); ignored otherwise. */
  className: string;
  /**
   * @param type element type
   * @param items elements
   * @param fixed fixed-length flag
   * @param className element class alias for object vectors
   */
  constructor(type: Amf3VectorType, items: AmfValue[] = [], fixed = false, className = '') {
    this.type = type;
    this.items = items;
    this.fixed = fixed;
    this.className = className;
  }
}
brand(Amf3Vector, Kind.Vector);

/** An AMF3 `flash.utils.Dictionary` (marker 0x11): keys may be any value. */
export class Amf3Dictionary {
  /** Entries in wire order. */
  entries: [AmfValue, AmfValue][];
  /** The weak-keys flag. */
  weakKeys: boolean;
  /**
   * @param entries key/value pairs
   * @param weakKeys weak-keys flag
   */
  constructor(entries: [AmfValue, AmfValue][] = [], weakKeys = false) {
    this.entries = entries;
    this.weakKeys = weakKeys;
  }
}
brand(Amf3Dictionary, Kind.Dictionary);

/**
 * An AMF3 externalizable object: its body has a class-specific format, read and written by the
 * {@link ExternalizableHandler} registered for `className`.
 */
export class Amf3Externalizable {
  /** The class alias, e.g. `flex.messaging.io.ArrayCollection`. */
  className: string;
  /** What the handler read (and will write). */
  data: AmfValue;
  /**
   * @param className class alias
   * @param data the handler's representation of the body
   */
  constructor(className: string, data: AmfValue) {
    this.className = className;
    this.data = data;
  }
}
brand(Amf3Externalizable, Kind.Externalizable);

/** Reading side offered to an {@link ExternalizableHandler}. Every method throws `AmfError` on bad input. */
export interface ExternalizableInput {
  /** Reads one AMF3 value (sharing the reference tables of the enclosing value). */
  readValue(): AmfValue;
  /** Reads an unsigned byte. */
  readUint8(): number;
  /** Reads a big-endian unsigned 16-bit integer. */
  readUint16(): number;
  /** Reads a big-endian unsigned 32-bit integer. */
  readUint32(): number;
  /** Reads a big-endian signed 32-bit integer. */
  readInt32(): number;
  /** Reads a big-endian 64-bit float. */
  readDouble(): number;
  /** Reads `length` bytes as a view of the input (not a copy). */
  readBytes(length: number): Uint8Array;
  /** Reads a UTF-8 string prefixed by a u16 length (`readUTF` in ActionScript). */
  readUtf(): string;
}

/** Writing side offered to an {@link ExternalizableHandler}. */
export interface ExternalizableOutput {
  /** Writes one AMF3 value (sharing the reference tables of the enclosing value). */
  writeValue(value: AmfValue): void;
  /** Writes an unsigned byte. */
  writeUint8(value: number): void;
  /** Writes a big-endian unsigned 16-bit integer. */
  writeUint16(value: number): void;
  /** Writes a big-endian unsigned 32-bit integer. */
  writeUint32(value: number): void;
  /** Writes a big-endian signed 32-bit integer. */
  writeInt32(value: number): void;
  /** Writes a big-endian 64-bit float. */
  writeDouble(value: number): void;
  /** Writes raw bytes. */
  writeBytes(bytes: Uint8Array): void;
  /** Writes a UTF-8 string prefixed by a u16 length (`writeUTF` in ActionScript). */
  writeUtf(value: string): void;
}

/** Reads and writes the body of one externalizable class. */
export interface ExternalizableHandler {
  /** Reads the body that follows the traits; the result becomes {@link Amf3Externalizable.data}. */
  read(input: ExternalizableInput): AmfValue;
  /** Writes `data` so that `read` gives it back. */
  write(data: AmfValue, output: ExternalizableOutput): void;
}

/**
 * Handler for Flex's `ArrayCollection` and `ObjectProxy`, whose body is one AMF3 value (the source array or object).
 * Register it under `flex.messaging.io.ArrayCollection` / `flex.messaging.io.ObjectProxy` as needed.
 */
export const singleValueExternalizable: ExternalizableHandler = {
  read(input) {
    return input.readValue();
  },
  write(data, output) {
    output.writeValue(data);
  },
};
