import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { startEmulators, type Emulators } from '../../../local/emulators';
import { POWERBI_SCOPE, SAMPLE_DATASET_ID, SAMPLE_WORKSPACE_ID, stableGuid } from '../../../local/emulators/powerbi';

// startEmulators: the Power BI emulator beside AAS, reached as the app reaches it (managed
// identity -> Key Vault secret -> client credentials for the Power BI scope).
let emulators: Emulators;
afterEach(async () => emulators.close());

async function powerBiToken(e: Emulators): Promise<string> {
  const settings = e.appSettings();
  const vaultToken = (await (await fetch(`${settings.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${encodeURIComponent('https://vault.azure.net')}`, { headers: { 'X-IDENTITY-HEADER': settings.IDENTITY_HEADER ?? '' } })).json()) as { access_token: string };
  const secret = (await (await fetch(`${settings.KEY_VAULT_URL}/secrets/${settings.KEY_VAULT_SECRET_NAME}?api-version=7.4`, { headers: { authorization: `Bearer ${vaultToken.access_token}` } })).json()) as { value: string };
  const form = new URLSearchParams({ client_id: e.servicePrincipal.clientId, client_secret: secret.value, grant_type: 'client_credentials', scope: POWERBI_SCOPE });
  const issued = (await (await fetch(`${settings.AUTHORITY_HOST}/${e.servicePrincipal.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() })).json()) as { access_token: string };
  return issued.access_token;
}

test('the sample workspace answers the app\'s service principal; appSettings point at it', async () => {
  emulators = await startEmulators({ clock: new VirtualClock(), tls: loadLocalTls() });
  expect(emulators.appSettings()).toMatchObject({ POWERBI_API_BASE_URL: emulators.powerbi.apiBase, POWERBI_ALLOWED_HOSTS: emulators.powerbi.host });
  const token = await powerBiToken(emulators);
  const groups = (await (await fetch(`${emulators.powerbi.apiBase}/groups?$filter=${encodeURIComponent("name eq 'Sales Analytics'")}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: Array<{ id: string }> };
  expect(groups.value.map((group) => group.id)).toEqual([SAMPLE_WORKSPACE_ID]);
  const posted = await fetch(`${emulators.powerbi.apiBase}/groups/${SAMPLE_WORKSPACE_ID}/datasets/${SAMPLE_DATASET_ID}/refreshes`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"type":"Full","objects":[{"table":"DimDate"}]}' });
  expect(posted.status).toBe(202);
  // The AAS emulator does not take a Power BI token.
  const aas = await fetch(`${emulators.aas.url}/servers/myserver/models/AdventureWorks/refreshes`, { headers: { authorization: `Bearer ${token}` } });
  expect(aas.status).toBe(401);
});

test('with models, Power BI serves the same models: a workspace per server, stable ids', async () => {
  const models = { servers: [{ name: 'load', models: [{ name: 'M1', tables: [{ name: 'T', durationMs: 1_000 }] }, { name: 'M2', tables: [{ name: 'T' }] }] }] };
  emulators = await startEmulators({ clock: new VirtualClock(), tls: loadLocalTls(), models });
  const token = await powerBiToken(emulators);
  const workspace = stableGuid('workspace:load');
  const datasets = (await (await fetch(`${emulators.powerbi.apiBase}/groups/${workspace}/datasets`, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: Array<{ id: string; name: string }> };
  expect(datasets.value.map((dataset) => [dataset.name, dataset.id])).toEqual([['M1', stableGuid('dataset:load/M1')], ['M2', stableGuid('dataset:load/M2')]]);
  expect(stableGuid('dataset:load/M1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
