/** App for bench/durableHost.ts: M steps of one activity and one one-minute durable timer. */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

df.app.activity('BenchStep', { handler: (i: number) => i + 1 });
df.app.orchestration('BenchSteps', function* (ctx: OrchestrationContext) {
  const steps = ctx.df.getInput<number>();
  let acc = 0;
  for (let i = 0; i < steps; i++) {
    acc = yield ctx.df.callActivity('BenchStep', acc);
    yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60_000));
  }
  return acc;
});
