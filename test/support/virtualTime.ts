import type { LocalHost } from '../../local/durable-host';

/**
 * Waiting on events under the local host's virtual clock, instead of sleeping: each step drains
 * the host, checks the condition at that quiet moment, then lets the next durable timer fire.
 * Throws (naming what it waited for) when the condition never holds within `maxSteps` timers or
 * no timer is left to fire.
 */
export async function stepUntil(host: LocalHost, ready: () => boolean | Promise<boolean>, what: string, maxSteps = 500): Promise<void> {
  for (let step = 0; step < maxSteps; step += 1) {
    await host.runUntilIdle({ maxVirtualMs: 0 });
    if (await ready()) return;
    const next = host.engine.nextTimerAt();
    if (next === undefined) throw new Error(`never reached (no timer left): ${what}`);
    await host.runUntilIdle({ maxVirtualMs: Math.max(0, next - host.clock.now()) });
  }
  throw new Error(`never reached within ${maxSteps} timers: ${what}`);
}

/**
 * Resolves once `ready` holds, checking in real time (for things the host does on its own, such
 * as an activity's request reaching an emulator). Throws after `timeoutMs`.
 */
export async function untilTrue(ready: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await untilDefined(() => (ready() ? true : undefined), what, timeoutMs);
}

/**
 * Resolves with the first value `read` gives that is not undefined, checking in real time every
 * `intervalMs` (for what another process does, read over HTTP). Throws after `timeoutMs`.
 */
export async function untilDefined<T>(read: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000, intervalMs = 5): Promise<T> {
  const limit = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > limit) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
