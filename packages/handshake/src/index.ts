export { HandshakeClient, type HandshakeClientOptions } from './client.js';
export type { HandshakeCommonOptions, HandshakeKind, HandshakeResult } from './common.js';
export {
  CLIENT_C1_KEY,
  DIGEST_LENGTH,
  DIGEST_SCHEMES,
  type DigestScheme,
  digestOffset,
  FLASH_MEDIA_SERVER_KEY,
  FLASH_PLAYER_KEY,
  type FoundDigest,
  findDigest,
  HANDSHAKE_SIZE,
  hmacSha256,
  RTMP_VERSION,
  SERVER_S1_KEY,
  signResponse,
  verifyDigest,
  verifyResponse,
  writeDigest,
} from './digest.js';
export { HandshakeError, HandshakeErrorCode, type HandshakeErrorOptions } from './errors.js';
export { HandshakeServer, type HandshakeServerOptions } from './server.js';
