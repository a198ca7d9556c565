#!/usr/bin/env node
// Runs a command with NODE_EXTRA_CA_CERTS pointing at the local development CA, creating the
// CA and the 127.0.0.1 server certificate first if needed. Node reads NODE_EXTRA_CA_CERTS only
// at process start, so the emulators' TLS can be trusted by the real Azure SDK clients and
// undici only when the variable is set before the process that uses them begins.
// Plain JavaScript on purpose: it runs before anything is compiled.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const tlsDir = path.resolve(process.env.LOCAL_TLS_DIR || path.join(__dirname, '..', '.local', 'tls'));

function openssl(args) {
  execFileSync('openssl', args, { cwd: tlsDir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ensureLocalCa() {
  const ready = ['ca.pem', 'server.pem', 'server-key.pem'].every((f) => fs.existsSync(path.join(tlsDir, f)));
  if (ready) return;
  fs.mkdirSync(tlsDir, { recursive: true });
  fs.writeFileSync(
    path.join(tlsDir, 'server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '825',
    '-subj', '/CN=aas-refresh local development CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server.pem',
    '-days', '825', '-extfile', 'server.ext']);
}

ensureLocalCa();
const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stdout.write(`${path.join(tlsDir, 'ca.pem')}\n`);
  process.exit(0);
}
const bin = command === 'node' ? process.execPath : command;
const child = spawn(bin, args, {
  stdio: 'inherit',
  shell: false,
  env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'ca.pem'), LOCAL_TLS_DIR: tlsDir },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
