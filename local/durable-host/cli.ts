/**
 * Command for people (and crash tests): runs an app on the local durable host.
 *   node -r ./local/durable-host/register-ts.js local/durable-host/cli.ts \
 *     [--entry dist/src/index.js] [--app-root .] [--port 7071] [--state .local/durable] [--clock real|virtual]
 */
import { startLocalHost } from './index';

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('--')) continue;
    const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) : [a.slice(2), argv[++i]];
    out[k ?? ''] = v ?? '';
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const clock = args.clock === 'virtual' ? 'virtual' : 'real';
  const host = await startLocalHost({
    entry: args.entry,
    appRoot: args['app-root'],
    port: args.port !== undefined ? Number(args.port) : 7071,
    stateDir: args.state ?? '.local/durable',
    clock,
  });
  console.log(`READY ${host.baseUrl}`);
  const shutdown = (): void => {
    void host.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  if (clock === 'virtual') {
    // Without tests driving it, a virtual clock keeps jumping to the next timer whenever idle.
    for (;;) {
      await host.runUntilIdle();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
