import * as df from 'durable-functions';
import { getServices } from '../app';

const { api } = getServices();

df.app.client.http('apiListRefreshes', { route: 'refreshes', methods: ['GET'], authLevel: 'function', handler: api.list });
