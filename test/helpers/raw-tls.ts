import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface SelfSignedCert {
  cert: string;
  key: string;
  /** The certificate itself: clients trust it as their CA. */
  ca: string;
}

/**
 * Makes a throwaway self-signed certificate (P-256, valid for 127.0.0.1, ::1 and localhost) in `dir` with
 * the openssl CLI, for TLS and WSS listeners in tests.
 */
export function makeSelfSignedCert(dir: string): SelfSignedCert {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
  );
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), ca: cert };
}
