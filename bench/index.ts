import { runPollingEfficiency } from './pollingEfficiency';

runPollingEfficiency();
