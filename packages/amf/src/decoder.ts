import { AmfError, type AmfErrorCode } from './errors.js';
import {
  type AmfDecodeOptions,
  DEFAULT_DECODE_LIMITS,
  type ExternalizableRegistry,
  lookupHandler,
} from './options.js';
import { decodeUtf8 } from './utf8.js';
import {
  AMF_UNSUPPORTED,
  Amf3Array,
  Amf3Dictionary,
  Amf3Externalizable,
  Amf3Vector,
  type Amf3VectorType,
  Amf3Xml,
  AmfDate,
  AmfDouble,
  type AmfObject,
  type AmfValue,
  AmfXmlDocument,
  createAmfObject,
  EcmaArray,
  type ExternalizableInput,
  TypedObject,
} from './values.js';

const EMPTY = new Uint8Array(0);

// Doubles are read through a scratch buffer rather than a DataView: creating a DataView per call cost more than the
// whole decode of a small command.
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f64(b: Uint8Array, p: number): number {
  if (littleEndian) {
    scratchBytes[0] = b[p + 7]!;
    scratchBytes[1] = b[p + 6]!;
    scratchBytes[2] = b[p + 5]!;
    scratchBytes[3] = b[p + 4]!;
    scratchBytes[4] = b[p + 3]!;
    scratchBytes[5] = b[p + 2]!;
    scratchBytes[6] = b[p + 1]!;
    scratchBytes[7] = b[p]!;
  } else {
    for (let i = 0; i < 8; i++) scratchBytes[i] = b[p + i]!;
  }
  return scratch[0]!;
}

function u32(b: Uint8Array, p: number): number {
  return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

function i32(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

interface Traits {
  className: string;
  sealed: string[];
  dynamic: boolean;
  externalizable: boolean;
}

const INT29_MIN = -0x10000000;
const INT29_MAX = 0x0fffffff;

/**
 * The decoding core for both AMF versions. One instance is reused across calls; all state is reset per call, and
 * the reference tables live on the instance so that no closure or table is allocated per value.
 */
export class Decoder implements ExternalizableInput {
  private bytes: Uint8Array = EMPTY;
  private pos = 0;
  private end = 0;
  private depth = 0;
  private readonly maxDepth: number;
  private readonly maxStringBytes: number;
  private readonly maxArrayLength: number;
  private readonly maxObjectProperties: number;
  private readonly maxInputBytes: number;
  private readonly exactNumbers: boolean;
  private readonly registry: ExternalizableRegistry | undefined;
  private refs0: AmfValue[] = [];
  private strings3: string[] = [];
  private objects3: AmfValue[] = [];
  private traits3: Traits[] = [];
  /** True while a decode runs: a re-entrant call (from an externalizable handler) must use another instance. */
  busy = false;

  constructor(options: AmfDecodeOptions = {}) {
    this.maxDepth = options.maxDepth ?? DEFAULT_DECODE_LIMITS.maxDepth;
    this.maxStringBytes = options.maxStringBytes ?? DEFAULT_DECODE_LIMITS.maxStringBytes;
    this.maxArrayLength = options.maxArrayLength ?? DEFAULT_DECODE_LIMITS.maxArrayLength;
    this.maxObjectProperties = options.maxObjectProperties ?? DEFAULT_DECODE_LIMITS.maxObjectProperties;
    this.maxInputBytes = options.maxInputBytes ?? DEFAULT_DECODE_LIMITS.maxInputBytes;
    this.exactNumbers = options.exactNumbers ?? false;
    this.registry = options.externalizable;
  }

  /** Decodes every AMF0 value in `bytes[start..]`. */
  decodeAmf0Sequence(bytes: Uint8Array, start = 0): AmfValue[] {
    this.begin(bytes, start);
    try {
      const out: AmfValue[] = [];
      // One reference table for the whole sequence: a command message is one AMF0 context.
      while (this.pos < this.end) out.push(this.read0());
      return out;
    } catch (e) {
      throw this.wrap(e);
    } finally {
      this.finish();
    }
  }

  /** Decodes every AMF3 value in `bytes[start..]`, sharing one set of reference tables (an AMF3 stream). */
  decodeAmf3Sequence(bytes: Uint8Array, start = 0): AmfValue[] {
    this.begin(bytes, start);
    try {
      const out: AmfValue[] = [];
      while (this.pos < this.end) out.push(this.read3());
      return out;
    } catch (e) {
      throw this.wrap(e);
    } finally {
      this.finish();
    }
  }

  private begin(bytes: Uint8Array, start: number): void {
    if (bytes.length > this.maxInputBytes) {
      throw new AmfError(
        'ERR_AMF_INPUT_TOO_LARGE',
        `input of ${bytes.length} bytes exceeds maxInputBytes ${this.maxInputBytes}`,
        { offset: 0 },
      );
    }
    this.busy = true;
    this.bytes = bytes;
    this.pos = start;
    this.end = bytes.length;
    this.depth = 0;
  }

  private finish(): void {
    // Drop references to the caller's data so that it can be collected.
    this.bytes = EMPTY;
    if (this.refs0.length !== 0) this.refs0.length = 0;
    this.resetAmf3();
    this.busy = false;
  }

  private resetAmf3(): void {
    if (this.strings3.length !== 0) this.strings3.length = 0;
    if (this.objects3.length !== 0) this.objects3.length = 0;
    if (this.traits3.length !== 0) this.traits3.length = 0;
  }

  private wrap(e: unknown): AmfError {
    if (e instanceof AmfError) return e;
    if (e instanceof RangeError) {
      // Only a stack overflow can get here (every read is bounds-checked): a maxDepth set beyond what the stack holds.
      return new AmfError('ERR_AMF_DEPTH_EXCEEDED', 'nesting too deep for the call stack', {
        offset: this.pos,
        cause: e,
      });
    }
    return new AmfError('ERR_AMF_INTERNAL', `unexpected failure: ${String(e)}`, {
      offset: this.pos,
      cause: e,
    });
  }

  private fail(code: AmfErrorCode, message: string, offset = this.pos): never {
    throw new AmfError(code, message, { offset });
  }

  private need(n: number): void {
    if (this.end - this.pos < n) {
      this.fail('ERR_AMF_TRUNCATED', `need ${n} bytes, ${this.end - this.pos} remain`);
    }
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) {
      this.fail('ERR_AMF_DEPTH_EXCEEDED', `nesting deeper than maxDepth ${this.maxDepth}`, this.pos - 1);
    }
  }

  // ---- primitive reads (also the ExternalizableInput surface) ----

  /** @inheritdoc */
  readUint8(): number {
    if (this.pos >= this.end) this.need(1);
    return this.bytes[this.pos++]!;
  }

  /** @inheritdoc */
  readUint16(): number {
    this.need(2);
    const v = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  /** @inheritdoc */
  readUint32(): number {
    this.need(4);
    const v = u32(this.bytes, this.pos);
    this.pos += 4;
    return v;
  }

  /** @inheritdoc */
  readInt32(): number {
    this.need(4);
    const v = i32(this.bytes, this.pos);
    this.pos += 4;
    return v;
  }

  /** @inheritdoc */
  readDouble(): number {
    this.need(8);
    const v = f64(this.bytes, this.pos);
    this.pos += 8;
    return v;
  }

  /** @inheritdoc */
  readBytes(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0) {
      this.fail('ERR_AMF_INVALID_VALUE', `invalid byte count ${length}`);
    }
    this.need(length);
    // A plain Uint8Array view even when the input is a Buffer, so decoded ByteArrays have one type.
    const out = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.pos, length);
    this.pos += length;
    return out;
  }

  /** @inheritdoc */
  readUtf(): string {
    return this.readUtf8(this.readUint16());
  }

  /** @inheritdoc */
  readValue(): AmfValue {
    return this.read3();
  }

  private readUtf8(length: number): string {
    if (length > this.maxStringBytes) {
      this.fail(
        'ERR_AMF_STRING_TOO_LONG',
        `string of ${length} bytes exceeds maxStringBytes ${this.maxStringBytes}`,
      );
    }
    this.need(length);
    const s = decodeUtf8(this.bytes, this.pos, length);
    this.pos += length;
    return s;
  }

  private checkCount(count: number, max: number, minBytesEach: number, what: string): void {
    if (count > max) {
      this.fail(
        what === 'sealed member' ? 'ERR_AMF_TOO_MANY_PROPERTIES' : 'ERR_AMF_ARRAY_TOO_LONG',
        `${what} count ${count} exceeds the limit ${max}`,
      );
    }
    // Each item takes at least minBytesEach bytes, so a count the input cannot hold is refused before allocating.
    if (count * minBytesEach > this.end - this.pos) {
      this.fail('ERR_AMF_TRUNCATED', `${what} count ${count} exceeds the ${this.end - this.pos} bytes left`);
    }
  }

  // ---- AMF0 ----

  private read0(): AmfValue {
    if (this.pos >= this.end) this.need(1);
    const marker = this.bytes[this.pos++]!;
    switch (marker) {
      case 0x00:
        return this.readDouble();
      case 0x01:
        return this.readUint8() !== 0;
      case 0x02:
        return this.readUtf8(this.readUint16());
      case 0x03: {
        this.enter();
        const props = createAmfObject();
        this.refs0.push(props);
        this.readProps0(props);
        this.depth--;
        return props;
      }
      case 0x05:
        return null;
      case 0x06:
        return undefined;
      case 0x07: {
        const at = this.pos - 1;
        const index = this.readUint16();
        if (index >= this.refs0.length) {
          this.fail('ERR_AMF_BAD_REFERENCE', `AMF0 reference ${index} to a missing object`, at);
        }
        return this.refs0[index];
      }
      case 0x08: {
        this.enter();
        this.readUint32(); // advisory count: the end marker, not this, ends the array
        const arr = new EcmaArray(createAmfObject());
        this.refs0.push(arr);
        this.readProps0(arr.properties);
        this.depth--;
        return arr;
      }
      case 0x09:
        return this.fail(
          'ERR_AMF_UNEXPECTED_OBJECT_END',
          'object end marker where a value was expected',
          this.pos - 1,
        );
      case 0x0a: {
        this.enter();
        const count = this.readUint32();
        this.checkCount(count, this.maxArrayLength, 1, 'strict array');
        const arr: AmfValue[] = new Array(count);
        this.refs0.push(arr);
        for (let i = 0; i < count; i++) arr[i] = this.read0();
        this.depth--;
        return arr;
      }
      case 0x0b: {
        const ms = this.readDouble();
        this.need(2);
        const tz = (((this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!) << 16) >> 16;
        this.pos += 2;
        return tz === 0 ? new Date(ms) : new AmfDate(new Date(ms), tz);
      }
      case 0x0c:
        return this.readUtf8(this.readUint32());
      case 0x0d:
        return AMF_UNSUPPORTED;
      case 0x0f:
        return new AmfXmlDocument(this.readUtf8(this.readUint32()));
      case 0x10: {
        this.enter();
        const className = this.readUtf8(this.readUint16());
        const obj = new TypedObject(className, createAmfObject());
        this.refs0.push(obj);
        this.readProps0(obj.properties);
        this.depth--;
        return obj;
      }
      case 0x11: {
        // Each switched value is a fresh AMF3 context (as Flash Player writes command arguments).
        this.resetAmf3();
        const v = this.read3();
        this.resetAmf3();
        return v;
      }
      case 0x04:
      case 0x0e:
        return this.fail(
          'ERR_AMF_UNSUPPORTED_MARKER',
          `AMF0 marker 0x${marker.toString(16).padStart(2, '0')} (${marker === 4 ? 'movieclip' : 'recordset'}) is reserved`,
          this.pos - 1,
        );
      default:
        return this.fail(
          'ERR_AMF_UNKNOWN_MARKER',
          `unknown AMF0 marker 0x${marker.toString(16).padStart(2, '0')}`,
          this.pos - 1,
        );
    }
  }

  private readProps0(props: AmfObject): void {
    let count = 0;
    for (;;) {
      this.need(2);
      const keyLength = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
      this.pos += 2;
      // An empty key followed by the end marker closes the object; an empty key followed by a value is a real key.
      if (keyLength === 0 && this.pos < this.end && this.bytes[this.pos] === 0x09) {
        this.pos++;
        return;
      }
      const key = this.readUtf8(keyLength);
      if (++count > this.maxObjectProperties) {
        this.fail('ERR_AMF_TOO_MANY_PROPERTIES', `more than maxObjectProperties ${this.maxObjectProperties}`);
      }
      props[key] = this.read0();
    }
  }

  // ---- AMF3 ----

  private readU29(): number {
    const bytes = this.bytes;
    let pos = this.pos;
    if (this.end - pos < 4) return this.readU29Slow();
    let b = bytes[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let v = (b & 0x7f) << 7;
    b = bytes[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return v | b;
    }
    v = (v | (b & 0x7f)) << 7;
    b = bytes[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return v | b;
    }
    v = (v | (b & 0x7f)) << 8;
    b = bytes[pos++]!;
    this.pos = pos;
    return v | b;
  }

  private readU29Slow(): number {
    let v = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.readUint8();
      if (b < 0x80) return (v << 7) | b;
      v = (v << 7) | (b & 0x7f);
    }
    return (v << 8) | this.readUint8();
  }

  private readString3(): string {
    const at = this.pos;
    const ref = this.readU29();
    if ((ref & 1) === 0) {
      const index = ref >>> 1;
      if (index >= this.strings3.length)
        this.fail('ERR_AMF_BAD_REFERENCE', `AMF3 string reference ${index}`, at);
      return this.strings3[index]!;
    }
    const length = ref >>> 1;
    if (length === 0) return '';
    const s = this.readUtf8(length);
    this.strings3.push(s);
    return s;
  }

  /** Reads the U29 of a by-reference value; returns the referenced object, or the inline length/count as a number. */
  private objectRef(at: number): { ref: AmfValue } | number {
    const ref = this.readU29();
    if ((ref & 1) === 0) {
      const index = ref >>> 1;
      if (index >= this.objects3.length)
        this.fail('ERR_AMF_BAD_REFERENCE', `AMF3 object reference ${index}`, at);
      return { ref: this.objects3[index] };
    }
    return ref >>> 1;
  }

  private read3(): AmfValue {
    if (this.pos >= this.end) this.need(1);
    const at = this.pos;
    const marker = this.bytes[this.pos++]!;
    switch (marker) {
      case 0x00:
        return undefined;
      case 0x01:
        return null;
      case 0x02:
        return false;
      case 0x03:
        return true;
      case 0x04: {
        const v = this.readU29();
        return v & 0x10000000 ? v - 0x20000000 : v;
      }
      case 0x05: {
        const v = this.readDouble();
        if (
          this.exactNumbers &&
          Number.isInteger(v) &&
          v >= INT29_MIN &&
          v <= INT29_MAX &&
          !Object.is(v, -0)
        ) {
          return new AmfDouble(v);
        }
        return v;
      }
      case 0x06:
        return this.readString3();
      case 0x07:
      case 0x0b: {
        const r = this.objectRef(at);
        if (typeof r !== 'number') return r.ref;
        const xml = this.readUtf8(r);
        const v = marker === 0x07 ? new AmfXmlDocument(xml) : new Amf3Xml(xml);
        this.objects3.push(v);
        return v;
      }
      case 0x08: {
        const r = this.objectRef(at);
        if (typeof r !== 'number') return r.ref;
        const d = new Date(this.readDouble());
        this.objects3.push(d);
        return d;
      }
      case 0x09:
        return this.readArray3(at);
      case 0x0a:
        return this.readObject3(at);
      case 0x0c: {
        const r = this.objectRef(at);
        if (typeof r !== 'number') return r.ref;
        if (r > this.maxStringBytes) {
          this.fail(
            'ERR_AMF_STRING_TOO_LONG',
            `ByteArray of ${r} bytes exceeds maxStringBytes ${this.maxStringBytes}`,
          );
        }
        const b = this.readBytes(r);
        this.objects3.push(b);
        return b;
      }
      case 0x0d:
      case 0x0e:
      case 0x0f:
      case 0x10:
        return this.readVector3(marker, at);
      case 0x11:
        return this.readDictionary3(at);
      default:
        return this.fail(
          'ERR_AMF_UNKNOWN_MARKER',
          `unknown AMF3 marker 0x${marker.toString(16).padStart(2, '0')}`,
          at,
        );
    }
  }

  private readArray3(at: number): AmfValue {
    const r = this.objectRef(at);
    if (typeof r !== 'number') return r.ref;
    this.enter();
    const count = r;
    this.checkCount(count, this.maxArrayLength, 1, 'array');
    let key = this.readString3();
    let result: AmfValue[] | EcmaArray | Amf3Array;
    let dense: AmfValue[];
    if (key === '') {
      dense = new Array(count);
      result = dense;
      this.objects3.push(result);
    } else {
      // The object must be in the table before its children, which may refer back to it.
      const assoc = createAmfObject();
      dense = new Array(count);
      result = count === 0 ? new EcmaArray(assoc) : new Amf3Array(dense, assoc);
      this.objects3.push(result);
      let n = 0;
      while (key !== '') {
        if (++n > this.maxObjectProperties) {
          this.fail(
            'ERR_AMF_TOO_MANY_PROPERTIES',
            `more than maxObjectProperties ${this.maxObjectProperties}`,
          );
        }
        assoc[key] = this.read3();
        key = this.readString3();
      }
    }
    for (let i = 0; i < count; i++) dense[i] = this.read3();
    this.depth--;
    return result;
  }

  private readObject3(at: number): AmfValue {
    const ref = this.readU29();
    if ((ref & 1) === 0) {
      const index = ref >>> 1;
      if (index >= this.objects3.length)
        this.fail('ERR_AMF_BAD_REFERENCE', `AMF3 object reference ${index}`, at);
      return this.objects3[index];
    }
    let traits: Traits;
    if ((ref & 2) === 0) {
      const index = ref >>> 2;
      if (index >= this.traits3.length)
        this.fail('ERR_AMF_BAD_REFERENCE', `AMF3 traits reference ${index}`, at);
      traits = this.traits3[index]!;
    } else if ((ref & 4) !== 0) {
      traits = { className: this.readString3(), sealed: [], dynamic: false, externalizable: true };
      this.traits3.push(traits);
    } else {
      const count = ref >>> 4;
      this.checkCount(count, this.maxObjectProperties, 1, 'sealed member');
      const className = this.readString3();
      const sealed: string[] = new Array(count);
      for (let i = 0; i < count; i++) sealed[i] = this.readString3();
      traits = { className, sealed, dynamic: (ref & 8) !== 0, externalizable: false };
      this.traits3.push(traits);
    }
    this.enter();
    let result: AmfValue;
    if (traits.externalizable) {
      const handler = lookupHandler(this.registry, traits.className);
      if (handler === undefined) {
        this.fail(
          'ERR_AMF_EXTERNALIZABLE_UNSUPPORTED',
          `no handler registered for externalizable class "${traits.className}"`,
          at,
        );
      }
      const ext = new Amf3Externalizable(traits.className, undefined);
      this.objects3.push(ext);
      try {
        ext.data = handler.read(this);
      } catch (e) {
        if (e instanceof AmfError) throw e;
        throw new AmfError(
          'ERR_AMF_EXTERNALIZABLE_FAILED',
          `handler for "${traits.className}" failed: ${String(e)}`,
          { offset: this.pos, cause: e },
        );
      }
      result = ext;
    } else {
      const props = createAmfObject();
      const sealed = traits.sealed;
      const anonymous = traits.dynamic && sealed.length === 0 && traits.className === '';
      if (anonymous) {
        result = props;
      } else {
        result = new TypedObject(
          traits.className,
          props,
          traits.dynamic ? { sealed: sealed.slice(), dynamic: true } : null,
        );
      }
      this.objects3.push(result);
      for (let i = 0; i < sealed.length; i++) props[sealed[i]!] = this.read3();
      if (traits.dynamic) {
        let n = sealed.length;
        for (;;) {
          const key = this.readString3();
          if (key === '') break;
          if (++n > this.maxObjectProperties) {
            this.fail(
              'ERR_AMF_TOO_MANY_PROPERTIES',
              `more than maxObjectProperties ${this.maxObjectProperties}`,
            );
          }
          props[key] = this.read3();
        }
      }
    }
    this.depth--;
    return result;
  }

  private readVector3(marker: number, at: number): AmfValue {
    const r = this.objectRef(at);
    if (typeof r !== 'number') return r.ref;
    this.enter();
    const count = r;
    const type: Amf3VectorType =
      marker === 0x0d ? 'int' : marker === 0x0e ? 'uint' : marker === 0x0f ? 'double' : 'object';
    const size = marker === 0x0f ? 8 : marker === 0x10 ? 1 : 4;
    const fixed = this.readUint8() !== 0;
    const className = marker === 0x10 ? this.readString3() : '';
    this.checkCount(count, this.maxArrayLength, size, 'vector');
    const items: AmfValue[] = new Array(count);
    const vector = new Amf3Vector(type, items, fixed, className);
    this.objects3.push(vector);
    if (marker === 0x10) {
      for (let i = 0; i < count; i++) items[i] = this.read3();
    } else {
      const b = this.bytes;
      let pos = this.pos;
      for (let i = 0; i < count; i++) {
        items[i] = size === 8 ? f64(b, pos) : type === 'int' ? i32(b, pos) : u32(b, pos);
        pos += size;
      }
      this.pos = pos;
    }
    this.depth--;
    return vector;
  }

  private readDictionary3(at: number): AmfValue {
    const r = this.objectRef(at);
    if (typeof r !== 'number') return r.ref;
    this.enter();
    const count = r;
    const weakKeys = this.readUint8() !== 0;
    this.checkCount(count, this.maxArrayLength, 2, 'dictionary');
    const entries: [AmfValue, AmfValue][] = new Array(count);
    const dict = new Amf3Dictionary(entries, weakKeys);
    this.objects3.push(dict);
    for (let i = 0; i < count; i++) {
      const key = this.read3();
      entries[i] = [key, this.read3()];
    }
    this.depth--;
    return dict;
  }
}
