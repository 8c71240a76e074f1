import { AmfError, type AmfErrorCode } from './errors.js';
import { type AmfEncodeOptions, type ExternalizableRegistry, lookupHandler } from './options.js';
import { utf8Length, writeUtf8 } from './utf8.js';
import {
  AMF_KIND,
  type Amf3Array,
  type Amf3Dictionary,
  type Amf3Externalizable,
  type Amf3Vector,
  type Amf3Xml,
  type AmfDate,
  type AmfDouble,
  type AmfInteger,
  type AmfObject,
  type AmfValue,
  type AmfXmlDocument,
  type EcmaArray,
  type ExternalizableOutput,
  Kind,
  type TypedObject,
} from './values.js';

/**
 * Output slab size. Results are carved out of a slab one after another (like Node's Buffer pool), so a call costs no
 * ArrayBuffer allocation; copying every result out of a scratch buffer took a third of the time of a connect encode.
 */
const SLAB_SIZE = 65536;
/** A buffer that grew past this for one big value is dropped after the call rather than kept for the process lifetime. */
const RETAIN_LIMIT = 1024 * 1024;
/** Strings up to this many UTF-16 units fit a u16 length whatever their content (3 bytes per unit at most). */
const SHORT_STRING_UNITS = 21845;
const INT29_MIN = -0x10000000;
const INT29_MAX = 0x0fffffff;
const ANONYMOUS_TRAITS = '';

type Branded = { [AMF_KIND]?: Kind };

/**
 * The encoding core for both AMF versions. Output goes into one slab that is reused until full: each call returns a
 * view of its own bytes in the slab, which later calls never overwrite (a full slab is replaced, not reused).
 */
export class Encoder implements ExternalizableOutput {
  private buf = new Uint8Array(SLAB_SIZE);
  private view = new DataView(this.buf.buffer);
  /** Start of the message being written in `buf`. */
  private base = 0;
  private pos = 0;
  private depth = 0;
  private readonly maxDepth: number;
  private readonly registry: ExternalizableRegistry | undefined;
  /** AMF0 complex values written so far, by index; searched linearly while short (the usual case), then via a Map. */
  private readonly refs0List: object[] = [];
  private refs0Map: Map<object, number> | null = null;
  private readonly strings3 = new Map<string, number>();
  private readonly objects3 = new Map<object, number>();
  private readonly traits3 = new Map<string, number>();
  /** True while an encode runs: a re-entrant call (from an externalizable handler) must use another instance. */
  busy = false;

  constructor(options: AmfEncodeOptions = {}) {
    this.maxDepth = options.maxDepth ?? 64;
    this.registry = options.externalizable;
  }

  /** Encodes values as AMF0, optionally after one prefix byte (the 0x00 of message types 15/17). */
  encodeAmf0Sequence(values: readonly AmfValue[], prefix?: number): Uint8Array {
    this.begin();
    try {
      if (prefix !== undefined) this.writeUint8(prefix);
      for (let i = 0; i < values.length; i++) this.write0(values[i]);
      return this.take();
    } catch (e) {
      throw this.wrap(e);
    } finally {
      this.finish();
    }
  }

  /** Encodes values as one AMF3 stream (one set of reference tables). */
  encodeAmf3Sequence(values: readonly AmfValue[]): Uint8Array {
    this.begin();
    try {
      for (let i = 0; i < values.length; i++) this.write3(values[i]);
      return this.take();
    } catch (e) {
      throw this.wrap(e);
    } finally {
      this.finish();
    }
  }

  private begin(): void {
    this.busy = true;
    this.pos = this.base;
    this.depth = 0;
  }

  /** Hands out the bytes written by this call; the next call starts after them, 8-byte aligned. */
  private take(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.base, this.pos - this.base);
    this.base = Math.min((this.pos + 7) & ~7, this.buf.length);
    return out;
  }

  private finish(): void {
    // Map.clear() reallocates the backing store even when empty: skip it for the common untouched case.
    if (this.refs0List.length !== 0) this.refs0List.length = 0;
    this.refs0Map = null;
    this.resetAmf3();
    // A slab grown for one huge value is not kept for the lifetime of the encoder.
    if (this.buf.length > RETAIN_LIMIT) this.newSlab(SLAB_SIZE);
    this.pos = this.base;
    this.busy = false;
  }

  private resetAmf3(): void {
    if (this.strings3.size !== 0) this.strings3.clear();
    if (this.objects3.size !== 0) this.objects3.clear();
    if (this.traits3.size !== 0) this.traits3.clear();
  }

  private newSlab(size: number): void {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.base = 0;
    this.pos = 0;
  }

  private wrap(e: unknown): AmfError {
    const at = this.pos - this.base;
    if (e instanceof AmfError) return e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return new AmfError('ERR_AMF_DEPTH_EXCEEDED', 'nesting too deep for the call stack', {
        offset: at,
        cause: e,
      });
    }
    return new AmfError('ERR_AMF_INTERNAL', `unexpected failure: ${String(e)}`, { offset: at, cause: e });
  }

  private fail(code: AmfErrorCode, message: string): never {
    throw new AmfError(code, message, { offset: this.pos - this.base });
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Move the message written so far to the start of a fresh slab big enough for it (earlier results keep the old one).
    const used = this.pos - this.base;
    let size = SLAB_SIZE;
    while (size < 2 * (used + n)) size *= 2;
    const old = this.buf.subarray(this.base, this.pos);
    this.newSlab(size);
    this.buf.set(old);
    this.pos = used;
  }

  private enter(): void {
    if (++this.depth > this.maxDepth)
      this.fail('ERR_AMF_DEPTH_EXCEEDED', `nesting deeper than maxDepth ${this.maxDepth}`);
  }

  // ---- primitive writes (also the ExternalizableOutput surface) ----

  /** @inheritdoc */
  writeUint8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  /** @inheritdoc */
  writeUint16(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, value);
    this.pos += 2;
  }

  /** @inheritdoc */
  writeUint32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value);
    this.pos += 4;
  }

  /** @inheritdoc */
  writeInt32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }

  /** @inheritdoc */
  writeDouble(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }

  /** @inheritdoc */
  writeBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** @inheritdoc */
  writeUtf(value: string): void {
    this.writeUtf8Prefixed16(value, 'string');
  }

  /** @inheritdoc */
  writeValue(value: AmfValue): void {
    this.write3(value);
  }

  /** u16 length + UTF-8, for AMF0 keys, class names and short strings. */
  private writeUtf8Prefixed16(s: string, what: string): void {
    if (s.length <= SHORT_STRING_UNITS) {
      this.ensure(2 + s.length * 3);
      const start = this.pos + 2;
      const end = writeUtf8(this.buf, start, s);
      const n = end - start;
      this.buf[this.pos] = n >>> 8;
      this.buf[this.pos + 1] = n & 0xff;
      this.pos = end;
      return;
    }
    const n = utf8Length(s);
    if (n > 0xffff) this.fail('ERR_AMF_INVALID_VALUE', `${what} of ${n} bytes does not fit a 16-bit length`);
    this.ensure(2 + n);
    this.view.setUint16(this.pos, n);
    this.pos = writeUtf8(this.buf, this.pos + 2, s);
  }

  /** u32 length + UTF-8 (long strings, XML). */
  private writeUtf8Prefixed32(s: string): void {
    const n = utf8Length(s);
    this.ensure(4 + n);
    this.view.setUint32(this.pos, n);
    this.pos = writeUtf8(this.buf, this.pos + 4, s);
  }

  // ---- AMF0 ----

  private write0(v: AmfValue): void {
    switch (typeof v) {
      case 'number':
        this.ensure(9);
        this.buf[this.pos] = 0x00;
        this.view.setFloat64(this.pos + 1, v);
        this.pos += 9;
        return;
      case 'string':
        if (v.length <= SHORT_STRING_UNITS) {
          this.ensure(1);
          this.buf[this.pos++] = 0x02;
          this.writeUtf8Prefixed16(v, 'string');
        } else if (utf8Length(v) <= 0xffff) {
          this.writeUint8(0x02);
          this.writeUtf8Prefixed16(v, 'string');
        } else {
          this.writeUint8(0x0c);
          this.writeUtf8Prefixed32(v);
        }
        return;
      case 'boolean':
        this.ensure(2);
        this.buf[this.pos++] = 0x01;
        this.buf[this.pos++] = v ? 1 : 0;
        return;
      case 'undefined':
        this.writeUint8(0x06);
        return;
      case 'object':
        if (v === null) this.writeUint8(0x05);
        else this.writeObject0(v);
        return;
      default:
        this.fail('ERR_AMF_INVALID_VALUE', `cannot encode a value of type ${typeof v}`);
    }
  }

  /** Writes a reference if `v` was written before; otherwise registers it (AMF0 complex types only). */
  private ref0(v: object): boolean {
    const list = this.refs0List;
    let index: number | undefined;
    if (this.refs0Map === null) {
      const i = list.indexOf(v);
      if (i >= 0) index = i;
    } else {
      index = this.refs0Map.get(v);
    }
    if (index !== undefined && index <= 0xffff) {
      this.ensure(3);
      this.buf[this.pos] = 0x07;
      this.view.setUint16(this.pos + 1, index);
      this.pos += 3;
      return true;
    }
    // Every complex value takes a table slot on the decoding side, even when written inline again.
    const slot = list.length;
    list.push(v);
    if (this.refs0Map !== null) {
      if (index === undefined) this.refs0Map.set(v, slot);
    } else if (slot === 32) {
      this.refs0Map = new Map();
      for (let i = 0; i <= slot; i++) if (!this.refs0Map.has(list[i]!)) this.refs0Map.set(list[i]!, i);
    }
    return false;
  }

  private writeObject0(v: object): void {
    if (Array.isArray(v)) {
      if (this.ref0(v)) return;
      this.enter();
      this.ensure(5);
      this.buf[this.pos] = 0x0a;
      this.view.setUint32(this.pos + 1, v.length);
      this.pos += 5;
      for (let i = 0; i < v.length; i++) this.write0(v[i]);
      this.depth--;
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      if (this.ref0(v)) return;
      this.enter();
      this.writeUint8(0x03);
      this.writeProps0(v as AmfObject);
      this.depth--;
      return;
    }
    const kind = (v as Branded)[AMF_KIND];
    switch (kind) {
      case Kind.EcmaArray: {
        if (this.ref0(v)) return;
        this.enter();
        this.ensure(5);
        this.buf[this.pos] = 0x08;
        // Relative to the message start: writing the members may move the message to a new slab.
        const countAt = this.pos + 1 - this.base;
        this.pos += 5;
        // Object.keys on a null-prototype (dictionary) record is costly: take the count from the one pass we make.
        const count = this.writeProps0((v as EcmaArray).properties);
        this.view.setUint32(this.base + countAt, count);
        this.depth--;
        return;
      }
      case Kind.TypedObject: {
        if (this.ref0(v)) return;
        this.enter();
        this.writeUint8(0x10);
        this.writeUtf8Prefixed16((v as TypedObject).className, 'class name');
        this.writeProps0((v as TypedObject).properties);
        this.depth--;
        return;
      }
      case Kind.XmlDocument:
        this.writeUint8(0x0f);
        this.writeUtf8Prefixed32((v as AmfXmlDocument).xml);
        return;
      case Kind.Date:
        this.writeDate0((v as AmfDate).date, (v as AmfDate).timezone);
        return;
      case Kind.Unsupported:
        this.writeUint8(0x0d);
        return;
      case Kind.Integer:
      case Kind.Double:
        this.write0((v as AmfInteger | AmfDouble).value);
        return;
      case Kind.Xml:
      case Kind.Array:
      case Kind.Vector:
      case Kind.Dictionary:
      case Kind.Externalizable:
        this.writeSwitch(v as AmfValue);
        return;
      default:
        break;
    }
    if (v instanceof Date) {
      this.writeDate0(v, 0);
      return;
    }
    if (v instanceof Uint8Array) {
      this.writeSwitch(v);
      return;
    }
    this.fail('ERR_AMF_INVALID_VALUE', `cannot encode an instance of ${describe(v)}`);
  }

  private writeDate0(date: Date, timezone: number): void {
    this.ensure(11);
    this.buf[this.pos] = 0x0b;
    this.view.setFloat64(this.pos + 1, date.getTime());
    this.view.setInt16(this.pos + 9, timezone);
    this.pos += 11;
  }

  /** Writes the members and the end marker; returns the member count. */
  private writeProps0(props: AmfObject): number {
    const keys = Object.keys(props);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.writeUtf8Prefixed16(key, 'property name');
      this.write0(props[key]);
    }
    this.ensure(3);
    this.buf[this.pos++] = 0x00;
    this.buf[this.pos++] = 0x00;
    this.buf[this.pos++] = 0x09;
    return keys.length;
  }

  /** Marker 0x11 and one AMF3 value in a fresh AMF3 context (the decoder resets its tables the same way). */
  private writeSwitch(v: AmfValue): void {
    this.writeUint8(0x11);
    this.resetAmf3();
    this.write3(v);
    this.resetAmf3();
  }

  // ---- AMF3 ----

  private writeU29(v: number): void {
    this.ensure(4);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80) {
      buf[pos++] = v;
    } else if (v < 0x4000) {
      buf[pos++] = (v >>> 7) | 0x80;
      buf[pos++] = v & 0x7f;
    } else if (v < 0x200000) {
      buf[pos++] = (v >>> 14) | 0x80;
      buf[pos++] = ((v >>> 7) & 0x7f) | 0x80;
      buf[pos++] = v & 0x7f;
    } else if (v < 0x20000000) {
      buf[pos++] = (v >>> 22) | 0x80;
      buf[pos++] = ((v >>> 15) & 0x7f) | 0x80;
      buf[pos++] = ((v >>> 8) & 0x7f) | 0x80;
      buf[pos++] = v & 0xff;
    } else {
      this.fail('ERR_AMF_INVALID_VALUE', `${v} does not fit in U29`);
    }
    this.pos = pos;
  }

  private writeString3(s: string): void {
    if (s === '') {
      this.writeU29(1);
      return;
    }
    const index = this.strings3.get(s);
    if (index !== undefined) {
      this.writeU29(index << 1);
      return;
    }
    this.strings3.set(s, this.strings3.size);
    this.writeInlineUtf8_3(s);
  }

  /** (length << 1 | 1) + UTF-8, without the string table (XML, and strings after the table lookup). */
  private writeInlineUtf8_3(s: string): void {
    const n = utf8Length(s);
    if (n > INT29_MAX) this.fail('ERR_AMF_INVALID_VALUE', `string of ${n} bytes is too long for AMF3`);
    this.writeU29((n << 1) | 1);
    this.ensure(n);
    this.pos = writeUtf8(this.buf, this.pos, s);
  }

  private write3(v: AmfValue): void {
    switch (typeof v) {
      case 'number':
        this.writeNumber3(v);
        return;
      case 'string':
        this.writeUint8(0x06);
        this.writeString3(v);
        return;
      case 'boolean':
        this.writeUint8(v ? 0x03 : 0x02);
        return;
      case 'undefined':
        this.writeUint8(0x00);
        return;
      case 'object':
        if (v === null) this.writeUint8(0x01);
        else this.writeObject3(v);
        return;
      default:
        this.fail('ERR_AMF_INVALID_VALUE', `cannot encode a value of type ${typeof v}`);
    }
  }

  private writeNumber3(v: number): void {
    if (Number.isInteger(v) && v >= INT29_MIN && v <= INT29_MAX && !Object.is(v, -0)) {
      this.writeUint8(0x04);
      this.writeU29(v & 0x1fffffff);
    } else {
      this.ensure(9);
      this.buf[this.pos] = 0x05;
      this.view.setFloat64(this.pos + 1, v);
      this.pos += 9;
    }
  }

  /** Writes marker + reference if `v` was written before; otherwise registers it and writes only the marker. */
  private ref3(marker: number, v: object): boolean {
    this.writeUint8(marker);
    const index = this.objects3.get(v);
    if (index !== undefined) {
      this.writeU29(index << 1);
      return true;
    }
    this.objects3.set(v, this.objects3.size);
    return false;
  }

  private writeObject3(v: object): void {
    if (Array.isArray(v)) {
      if (this.ref3(0x09, v)) return;
      this.enter();
      this.writeU29((v.length << 1) | 1);
      this.writeU29(1); // empty associative part
      for (let i = 0; i < v.length; i++) this.write3(v[i]);
      this.depth--;
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      if (this.ref3(0x0a, v)) return;
      this.enter();
      const traits = this.traits3.get(ANONYMOUS_TRAITS);
      if (traits !== undefined) {
        this.writeU29((traits << 2) | 1);
      } else {
        this.traits3.set(ANONYMOUS_TRAITS, this.traits3.size);
        this.writeU29(0x0b); // 0 sealed, dynamic, inline traits
        this.writeU29(1); // class name ""
      }
      this.writeDynamic3(v as AmfObject, null);
      this.depth--;
      return;
    }
    const kind = (v as Branded)[AMF_KIND];
    switch (kind) {
      case Kind.EcmaArray: {
        if (this.ref3(0x09, v)) return;
        this.enter();
        this.writeU29(1); // no dense part
        this.writeDynamic3((v as EcmaArray).properties, null);
        this.depth--;
        return;
      }
      case Kind.Array: {
        if (this.ref3(0x09, v)) return;
        this.enter();
        const { dense, associative } = v as Amf3Array;
        this.writeU29((dense.length << 1) | 1);
        this.writeDynamic3(associative, null);
        for (let i = 0; i < dense.length; i++) this.write3(dense[i]);
        this.depth--;
        return;
      }
      case Kind.TypedObject:
        if (this.ref3(0x0a, v)) return;
        this.enter();
        this.writeTyped3(v as TypedObject);
        this.depth--;
        return;
      case Kind.XmlDocument:
      case Kind.Xml:
        if (this.ref3(kind === Kind.Xml ? 0x0b : 0x07, v)) return;
        this.writeInlineUtf8_3((v as AmfXmlDocument | Amf3Xml).xml);
        return;
      case Kind.Date:
        if (this.ref3(0x08, v)) return;
        this.writeU29(1);
        this.writeDouble((v as AmfDate).date.getTime());
        return;
      case Kind.Integer: {
        const n = (v as AmfInteger).value;
        if (!Number.isInteger(n) || n < INT29_MIN || n > INT29_MAX) {
          this.fail('ERR_AMF_INVALID_VALUE', `AmfInteger ${n} is outside the signed 29-bit range`);
        }
        this.writeUint8(0x04);
        this.writeU29(n & 0x1fffffff);
        return;
      }
      case Kind.Double:
        this.writeUint8(0x05);
        this.writeDouble((v as AmfDouble).value);
        return;
      case Kind.Vector:
        this.writeVector3(v as Amf3Vector);
        return;
      case Kind.Dictionary: {
        if (this.ref3(0x11, v)) return;
        this.enter();
        const { entries, weakKeys } = v as Amf3Dictionary;
        this.writeU29((entries.length << 1) | 1);
        this.writeUint8(weakKeys ? 1 : 0);
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i]!;
          this.write3(entry[0]);
          this.write3(entry[1]);
        }
        this.depth--;
        return;
      }
      case Kind.Externalizable:
        this.writeExternalizable3(v as Amf3Externalizable);
        return;
      case Kind.Unsupported:
        this.fail('ERR_AMF_INVALID_VALUE', 'the AMF0 unsupported marker has no AMF3 form');
        break;
      default:
        break;
    }
    if (v instanceof Date) {
      if (this.ref3(0x08, v)) return;
      this.writeU29(1);
      this.writeDouble(v.getTime());
      return;
    }
    if (v instanceof Uint8Array) {
      if (this.ref3(0x0c, v)) return;
      this.writeU29((v.length << 1) | 1);
      this.writeBytes(v);
      return;
    }
    this.fail('ERR_AMF_INVALID_VALUE', `cannot encode an instance of ${describe(v)}`);
  }

  /** Dynamic members (or associative entries) ending with the empty string; `skip` holds the sealed names. */
  private writeDynamic3(props: AmfObject, skip: ReadonlySet<string> | null): void {
    const keys = Object.keys(props);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (skip?.has(key)) continue;
      if (key === '') this.fail('ERR_AMF_INVALID_VALUE', 'AMF3 cannot write an empty dynamic member name');
      this.writeString3(key);
      this.write3(props[key]);
    }
    this.writeU29(1);
  }

  private writeTyped3(v: TypedObject): void {
    const props = v.properties;
    const sealed = v.traits ? v.traits.sealed : Object.keys(props);
    const dynamic = v.traits ? v.traits.dynamic : false;
    const key = JSON.stringify([v.className, dynamic, sealed]);
    const index = this.traits3.get(key);
    if (index !== undefined) {
      this.writeU29((index << 2) | 1);
    } else {
      this.traits3.set(key, this.traits3.size);
      if (sealed.length > 0x00ffffff) this.fail('ERR_AMF_INVALID_VALUE', 'too many sealed members');
      this.writeU29((sealed.length << 4) | (dynamic ? 0x08 : 0) | 0x03);
      this.writeString3(v.className);
      for (let i = 0; i < sealed.length; i++) this.writeString3(sealed[i]!);
    }
    for (let i = 0; i < sealed.length; i++) this.write3(props[sealed[i]!]);
    if (dynamic) {
      this.writeDynamic3(props, new Set(sealed));
    } else if (v.traits && Object.keys(props).some((k) => !v.traits!.sealed.includes(k))) {
      this.fail(
        'ERR_AMF_INVALID_VALUE',
        `"${v.className}" is not dynamic but has members outside its sealed names`,
      );
    }
  }

  private writeVector3(v: Amf3Vector): void {
    const marker = v.type === 'int' ? 0x0d : v.type === 'uint' ? 0x0e : v.type === 'double' ? 0x0f : 0x10;
    if (this.ref3(marker, v)) return;
    this.enter();
    const items = v.items;
    this.writeU29((items.length << 1) | 1);
    this.writeUint8(v.fixed ? 1 : 0);
    if (marker === 0x10) {
      this.writeString3(v.className);
      for (let i = 0; i < items.length; i++) this.write3(items[i]);
    } else {
      for (let i = 0; i < items.length; i++) {
        const n = items[i];
        if (typeof n !== 'number')
          this.fail('ERR_AMF_INVALID_VALUE', `Vector.<${v.type}> item ${i} is not a number`);
        if (marker === 0x0d) {
          if ((n | 0) !== n)
            this.fail('ERR_AMF_INVALID_VALUE', `Vector.<int> item ${i} (${n}) is not an int32`);
          this.writeInt32(n);
        } else if (marker === 0x0e) {
          if (n >>> 0 !== n)
            this.fail('ERR_AMF_INVALID_VALUE', `Vector.<uint> item ${i} (${n}) is not a uint32`);
          this.writeUint32(n);
        } else {
          this.writeDouble(n);
        }
      }
    }
    this.depth--;
  }

  private writeExternalizable3(v: Amf3Externalizable): void {
    const handler = lookupHandler(this.registry, v.className);
    if (handler === undefined) {
      this.fail(
        'ERR_AMF_EXTERNALIZABLE_UNSUPPORTED',
        `no handler registered for externalizable class "${v.className}"`,
      );
    }
    if (this.ref3(0x0a, v)) return;
    this.enter();
    const key = `\u0000ext:${v.className}`;
    const index = this.traits3.get(key);
    if (index !== undefined) {
      this.writeU29((index << 2) | 1);
    } else {
      this.traits3.set(key, this.traits3.size);
      this.writeU29(0x07);
      this.writeString3(v.className);
    }
    try {
      handler.write(v.data, this);
    } catch (e) {
      if (e instanceof AmfError) throw e;
      throw new AmfError(
        'ERR_AMF_EXTERNALIZABLE_FAILED',
        `handler for "${v.className}" failed: ${String(e)}`,
        { offset: this.pos - this.base, cause: e },
      );
    }
    this.depth--;
  }
}

function describe(v: object): string {
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'an unknown class';
}
