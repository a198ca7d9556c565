import fs from 'node:fs';
import path from 'node:path';

/** The local CA and the 127.0.0.1 server certificate made by `local/run-with-ca.js`. */
export interface LocalTls {
  caPath: string;
  ca: string;
  cert: string;
  key: string;
}

export function loadLocalTls(): LocalTls {
  const dir = path.resolve(process.env.LOCAL_TLS_DIR ?? path.join(__dirname, '..', '..', '.local', 'tls'));
  const candidates = [dir, path.join(__dirname, '..', '.local', 'tls')];
  for (const candidate of candidates) {
    const caPath = path.join(candidate, 'ca.pem');
    if (fs.existsSync(caPath)) {
      return {
        caPath,
        ca: fs.readFileSync(caPath, 'utf8'),
        cert: fs.readFileSync(path.join(candidate, 'server.pem'), 'utf8'),
        key: fs.readFileSync(path.join(candidate, 'server-key.pem'), 'utf8'),
      };
    }
  }
  throw new Error(
    `Local TLS material not found in ${dir}. Run through "node local/run-with-ca.js <command>" (npm test/start do), which creates it and sets NODE_EXTRA_CA_CERTS.`,
  );
}
