import { healthAnswer, type HealthView } from '../../src/api/health';
import { loadConfig } from '../../src/config/config';

const server = 'asazure://westeurope.asazure.windows.net/myserver';
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const health = (settings: Record<string, string>) => {
  const answer = healthAnswer(loadConfig({ AUTH_MODE: 'managedIdentity', ...settings }), NOW);
  expect(answer.status).toBe(200);
  return answer.jsonBody as HealthView;
};

describe('GET /api/health', () => {
  it('is ok with every schedule active, each with its next occurrence in UTC', () => {
    const view = health({
      REFRESH_SCHEDULES: JSON.stringify([
        { name: 'nightly', schedule: '0 0 2 * * *', request: { server, model: 'Sales' } },
        { name: 'friday-13', schedule: '0 0 12 13 * 5', request: { server, model: 'Sales' } },
      ]),
    });
    expect(view).toEqual({
      status: 'ok',
      problems: [],
      runningInAzure: false,
      hostingPlan: 'flexConsumption',
      authMode: 'managedIdentity',
      allowLists: { aasHosts: ['*.asazure.windows.net'], powerBiHosts: ['api.powerbi.com'], callbackHosts: ['*.datafactory.azure.com', '*.datafactory.azure.net', '*.logic.azure.com'] },
      schedules: [
        { name: 'nightly', schedule: '0 0 2 * * *', state: 'active', nextOccurrence: '2026-01-06T02:00:00.000Z' },
        { name: 'friday-13', schedule: '0 0 12 13 * 5', state: 'active', nextOccurrence: '2026-02-13T12:00:00.000Z' },
      ],
    });
  });

  it('is degraded, saying why, when REFRESH_SCHEDULES is not an array', () => {
    const view = health({ REFRESH_SCHEDULES: '{"name":"nightly"}' });
    expect(view).toMatchObject({ status: 'degraded', problems: [expect.stringContaining('must be a JSON array')], schedules: [] });
  });

  it('shows the Azure side: running in Azure on Flex Consumption', () => {
    const view = health({ WEBSITE_SKU: 'FlexConsumption', WEBSITE_SITE_NAME: 'func-aas-refresh', CONTAINER_NAME: 'c1', LEGION_SERVICE_HOST: 'legion' });
    expect(view).toMatchObject({ runningInAzure: true, hostingPlan: 'flexConsumption' });
  });
});
