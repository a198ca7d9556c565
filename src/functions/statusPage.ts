import { app } from '@azure/functions';
import { statusPageHandler } from '../api/statusPage';

// The status page (src/api/statusPage.ts): anonymous, the page sends the key on each API call.
app.http('statusPage', { route: 'status/{*asset}', methods: ['GET'], authLevel: 'anonymous', handler: statusPageHandler() });
