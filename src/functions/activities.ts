import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { getServices } from '../app';
import { FunctionNames } from '../orchestration/contracts';

const { activities } = getServices();

// Each activity takes its typed input; Durable hands it over as the deserialised JSON.
type Handler = (input: never, context: InvocationContext) => Promise<unknown>;
const registrations: [string, Handler][] = [
  [FunctionNames.inspectModel, activities.inspectModel],
  [FunctionNames.submitRefresh, activities.submitRefresh],
  [FunctionNames.getRefreshStatus, activities.getRefreshStatus],
  [FunctionNames.cancelRefresh, activities.cancelRefresh],
  [FunctionNames.submitSync, activities.submitSync],
  [FunctionNames.getSyncStatus, activities.getSyncStatus],
  [FunctionNames.sendCallback, activities.sendCallback],
];

for (const [name, handler] of registrations) {
  df.app.activity(name, { handler: (input: unknown, context: InvocationContext) => handler(input as never, context) });
}
