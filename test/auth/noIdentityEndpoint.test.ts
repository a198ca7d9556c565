import { AAS_PUBLIC_SCOPE } from '../../src/backends/aas/serverName';
import net from 'node:net';
import { createTokenProvider } from '../../src/auth';
import { loadConfig } from '../../src/config/config';
import { ErrorCodes } from '../../src/errors';
import { failure } from './helpers';

// No App Service identity endpoint (IDENTITY_ENDPOINT unset) and no instance metadata service
// answering: the SDK's IMDS fallback is pointed at a closed local port so that this is quick.
beforeAll(async () => {
  const closed = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = `http://127.0.0.1:${closed}`;
});

test('no managed identity at all: AUTH_MANAGED_IDENTITY_UNAVAILABLE telling where to enable it', async () => {
  const error = await failure(createTokenProvider(loadConfig({ AUTH_MODE: 'managedIdentity' }).auth).getToken(AAS_PUBLIC_SCOPE));
  expect(error).toMatchObject({ code: ErrorCodes.AUTH_MANAGED_IDENTITY_UNAVAILABLE });
  expect(error.message).toMatch(/enable the identity on the function app/);
});
