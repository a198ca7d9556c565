import * as df from 'durable-functions';
import { FunctionNames } from '../orchestration/contracts';
import { refreshOrchestrator } from '../orchestration/refreshOrchestrator';

df.app.orchestration(FunctionNames.refreshOrchestrator, refreshOrchestrator);
