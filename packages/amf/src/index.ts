/**
 * `@rtmp/amf`: AMF0 and AMF3 encoder/decoder for RTMP, hardened against hostile input.
 * @packageDocumentation
 */
export {
  Amf0Decoder,
  Amf0Encoder,
  Amf3Decoder,
  Amf3Encoder,
  AmfMessageType,
  type AmfMessageTypeValue,
  decodeAmf0,
  decodeAmf3,
  decodeCommandPayload,
  encodeAmf0,
  encodeAmf3,
  encodeCommandPayload,
} from './api.js';
export { AMF_ERROR_CODES, AmfError, type AmfErrorCode, type AmfErrorOptions } from './errors.js';
export {
  type AmfDecodeOptions,
  type AmfEncodeOptions,
  DEFAULT_DECODE_LIMITS,
  type ExternalizableRegistry,
} from './options.js';
export { amfProperties, amfProperty } from './properties.js';
export {
  AMF_UNSUPPORTED,
  Amf3Array,
  Amf3Dictionary,
  Amf3Externalizable,
  type Amf3Traits,
  Amf3Vector,
  type Amf3VectorType,
  Amf3Xml,
  AmfDate,
  AmfDouble,
  AmfInteger,
  type AmfObject,
  AmfUnsupported,
  type AmfValue,
  AmfXmlDocument,
  createAmfObject,
  EcmaArray,
  type ExternalizableHandler,
  type ExternalizableInput,
  type ExternalizableOutput,
  isAmfObject,
  singleValueExternalizable,
  TypedObject,
} from './values.js';
