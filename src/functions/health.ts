import { app } from '@azure/functions';
import { getConfig } from '../app';
import { healthAnswer } from '../api/health';

// Function key: the answer shows the app's set-up (schedules, auth mode, allow-lists), no secrets.
app.http('apiHealth', { route: 'health', methods: ['GET'], authLevel: 'function', handler: async () => healthAnswer(getConfig(), Date.now()) });
