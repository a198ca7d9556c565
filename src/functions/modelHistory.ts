import * as df from 'durable-functions';
import { getServices } from '../app';

const { api } = getServices();

df.app.client.http('apiModelHistory', { route: 'models/refreshes', methods: ['GET'], authLevel: 'function', handler: api.modelHistory });
