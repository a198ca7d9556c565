import * as df from 'durable-functions';
import { getServices } from '../app';
import { RECENT_RUNS_ENTITY, recentRunsEntity } from '../api/recentRuns';

df.app.client.http('apiListRefreshes', {
  route: 'refreshes',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request, client, context) => (await getServices()).api.list(request, client, context),
});

// The recent-runs index the list without a model filter reads (src/api/recentRuns.ts).
df.app.entity(RECENT_RUNS_ENTITY, recentRunsEntity);
