import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A certificate made by {@link selfSignedCert}: PEM bytes, and the files for tools that want paths. */
export interface SelfSignedCert {
  key: Buffer;
  cert: Buffer;
  keyPath: string;
  certPath: string;
  /** The temp folder holding both files (the caller may remove it). */
  dir: string;
}

/**
 * A fresh self-signed RSA certificate for `localhost` and 127.0.0.1 (subjectAltName), valid one day, made with the
 * `openssl` CLI in a new temp folder; for RTMPS tests. Check `hasTool('openssl')` first.
 */
export function selfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(path.join(tmpdir(), 'rtmp-cert-'));
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ...['-keyout', keyPath, '-out', certPath],
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), keyPath, certPath, dir };
}
