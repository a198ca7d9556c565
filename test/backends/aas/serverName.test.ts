import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadLocalTls } from '../../../local/tls';
import { TokenIssuer } from '../../../local/emulators/jwt';
import { VirtualClock } from '../../../local/clock';
import { createAasClient, toRefreshRequest } from '../../../src/backends/aas/client';
import { aasTokenScope, modelBaseUrl, parseServerName, resolveServer } from '../../../src/backends/aas/serverName';
import { isHostAllowed } from '../../../src/http/hostPolicy';
import { codeOf } from '../../../src/errors';
import { IssuerTokenProvider, rejectionOf } from './support';

const AZURE = ['*.asazure.windows.net'];

describe('parseServerName + allow-list', () => {
  it.each([
    ['asazure://westus.asazure.windows.net/myserver', 'https://westus.asazure.windows.net/servers/myserver/models/AdventureWorks/'],
    ['asazure://westus.asazure.windows.net/myserver:rw', 'https://westus.asazure.windows.net/servers/myserver/models/AdventureWorks/'],
    ['ASAZURE://WestUS.AsAzure.Windows.NET/MyServer', 'https://westus.asazure.windows.net/servers/myserver/models/AdventureWorks/'],
    ['asazure://westus.asazure.windows.net:443/myserver', 'https://westus.asazure.windows.net/servers/myserver/models/AdventureWorks/'],
    ['asazure://a.b.asazure.windows.net/myserver', 'https://a.b.asazure.windows.net/servers/myserver/models/AdventureWorks/'],
  ])('accepts %s', (name, url) => {
    expect(modelBaseUrl(resolveServer(name, AZURE), 'AdventureWorks')).toBe(url);
  });

  // [name, expected code]: each would send the token somewhere else, or is malformed.
  const refused: Array<[string, string]> = [
    ['asazure://westus.asazure.windows.net@evil.com/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://evil.com@westus.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://user:pw@westus.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://asazure.windows.net.evil.com/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://westus.asazure.windows.net.evil.com/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://evilasazure.windows.net/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://asazure.windows.net/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://127.0.0.1/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://169.254.169.254/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://[::1]/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://0x7f.0.0.1/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://2130706433/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://westus.asazure.windows.net:8443/myserver', 'AAS_HOST_NOT_ALLOWED'],
    ['asazure://westus.asazure.windows.net:0443/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net:99999/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net\\@evil.com/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://evil.com\\.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus%2easazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://evil.com%2f.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net./myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net /myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/my server', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/myserver\n', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/myserver\u0000', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/:rw', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/myserver/extra', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/myserver?x=1', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asazure.windows.net/myserver#frag', 'AAS_INVALID_SERVER_NAME'],
    ['https://westus.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure:/westus.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://westus.asаzure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'], // Cyrillic "а"
    ['asazure://westus..asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure://-westus.asazure.windows.net/myserver', 'AAS_INVALID_SERVER_NAME'],
    ['asazure:///myserver', 'AAS_INVALID_SERVER_NAME'],
    ['', 'AAS_INVALID_SERVER_NAME'],
  ];
  it.each(refused)('refuses %j with %s', (name, code) => {
    let thrown: unknown;
    try {
      resolveServer(name, AZURE);
    } catch (error) {
      thrown = error;
    }
    expect(codeOf(thrown)).toBe(code);
  });

  it.each([
    [{ hostname: '127.0.0.1', port: 54321 }, ['127.0.0.1:54321'], true],
    [{ hostname: '127.0.0.1', port: 54322 }, ['127.0.0.1:54321'], false],
    [{ hostname: '127.0.0.1', port: 443 }, ['127.0.0.1:54321'], false],
    [{ hostname: 'westus.asazure.windows.net', port: 443 }, ['westus.asazure.windows.net'], true],
    [{ hostname: 'eastus.asazure.windows.net', port: 443 }, ['westus.asazure.windows.net'], false],
    [{ hostname: 'x.local.test', port: 8443 }, ['*.local.test:8443'], true],
    [{ hostname: 'x.local.test', port: 443 }, ['*.local.test:8443'], false],
    [{ hostname: '10.0.0.1', port: 443 }, ['*.0.0.1'], false],
    [{ hostname: 'westus.asazure.windows.net', port: 443 }, ['*.ASAZURE.windows.net'], true],
  ])('isHostAllowed(%j, %j) is %s', (server, patterns, allowed) => {
    expect(isHostAllowed(server, patterns)).toBe(allowed);
  });

  it('encodes model names with spaces, slashes, #, % and unicode into a single path segment', () => {
    const url = modelBaseUrl(parseServerName('asazure://westus.asazure.windows.net/myserver'), 'Sales/EU #1 50% Ümlaut');
    expect(url).toBe('https://westus.asazure.windows.net/servers/myserver/models/Sales%2FEU%20%231%2050%25%20%C3%9Cmlaut/');
    expect(new URL(url).pathname.split('/')).toHaveLength(6);
  });

  it.each(['.', '..', ''])('refuses the model name %j that URL parsers would collapse', (model) => {
    expect(() => modelBaseUrl(parseServerName('asazure://westus.asazure.windows.net/myserver'), model)).toThrow(/INVALID_REQUEST/);
  });
});

describe('a token never reaches a host outside the allow-list', () => {
  let canary: Server;
  let canaryPort: number;
  const canaryRequests: Array<{ url?: string; authorization?: string }> = [];

  beforeAll(async () => {
    const tls = loadLocalTls();
    canary = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      canaryRequests.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(202, { location: 'https://127.0.0.1/refreshes/stolen' });
      res.end();
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', () => resolve()));
    canaryPort = (canary.address() as AddressInfo).port;
  });
  afterAll(async () => {
    canary.closeAllConnections();
    await new Promise<void>((resolve) => canary.close(() => resolve()));
  });
  beforeEach(() => {
    canaryRequests.length = 0;
  });

  function clientFor(allowedHosts: string[]) {
    const tokens = new IssuerTokenProvider(new TokenIssuer(new VirtualClock()));
    return { tokens, client: createAasClient({ allowedHosts, tokenProvider: tokens, requestTimeoutMs: 2_000 }) };
  }

  it('control: when the canary is allowed, it does receive the call and the token', async () => {
    const { tokens, client } = clientFor([`127.0.0.1:${canaryPort}`]);
    const result = await client.submitRefresh({ server: `asazure://127.0.0.1:${canaryPort}/myserver`, model: 'm' }, toRefreshRequest());
    await client.close();
    expect(result.refreshId).toBe('stolen');
    expect(canaryRequests).toHaveLength(1);
    expect(canaryRequests[0]?.authorization).toBe(`Bearer ${tokens.issued[0]}`);
  });

  it.each([
    () => `asazure://127.0.0.1:${canaryPort}/myserver`,
    () => `asazure://localhost:${canaryPort}/myserver`,
    () => `asazure://127.0.0.1:${canaryPort}@westus.asazure.windows.net/myserver`,
    () => `asazure://westus.asazure.windows.net@127.0.0.1:${canaryPort}/myserver`,
    () => `asazure://127.0.0.1:${canaryPort}\\.asazure.windows.net/myserver`,
    () => `asazure://127.0.0.1:${canaryPort}/.asazure.windows.net/myserver`,
    () => `asazure://127.0.0.1%3a${canaryPort}/myserver`,
    () => `asazure://0x7f.0.0.1:${canaryPort}/myserver`,
    () => `asazure://127.1:${canaryPort}/myserver`,
  ])('refuses %p before asking for a token', async (name) => {
    const { tokens, client } = clientFor(['*.asazure.windows.net', '127.0.0.1:1']);
    const model = { server: name(), model: 'AdventureWorks' };
    const errors = await Promise.all([
      rejectionOf(client.submitRefresh(model, toRefreshRequest())),
      rejectionOf(client.getRefresh(model, 'x')),
      rejectionOf(client.listRefreshes(model)),
      rejectionOf(client.cancelRefresh(model, 'x')),
      rejectionOf(client.submitSync(model)),
      rejectionOf(client.getSync(model, 'x')),
    ]);
    await client.close();
    for (const error of errors) expect(['AAS_INVALID_SERVER_NAME', 'AAS_HOST_NOT_ALLOWED']).toContain(codeOf(error));
    expect(tokens.calls).toBe(0);
    expect(canaryRequests).toEqual([]);
  });
});

describe('AAS token scope', () => {
  it.each([
    ['asazure://westeurope.asazure.windows.net/myserver', 'https://*.asazure.windows.net/.default'],
    ['asazure://chinaeast2.asazure.chinacloudapi.cn/myserver:rw', 'https://*.asazure.chinacloudapi.cn/.default'],
    ['asazure://usgovvirginia.asazure.usgovcloudapi.net/myserver', 'https://*.asazure.usgovcloudapi.net/.default'],
    // A local emulator's host: the public cloud's audience, which the emulator checks.
    ['asazure://127.0.0.1:8443/myserver', 'https://*.asazure.windows.net/.default'],
  ])('%s asks for %s', (name, scope) => {
    expect(aasTokenScope(parseServerName(name))).toBe(scope);
  });
});
