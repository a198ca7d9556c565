/**
 * Command for people (and crash tests): runs an app on the local durable host.
 *   node -r ./local/durable-host/register-ts.js local/durable-host/cli.ts \
 *     [--entry dist/src/index.js] [--app-root .] [--port 7071] [--state .local/durable] [--clock real|virtual]
 *     [--shared [--worker-id w1] [--lease-ms 30000] [--poll-ms 50] [--partitions 4]]
 * `--shared` runs it as one of several workers on the state directory (workers.ts forks them).
 * Prints `READY <baseUrl> <rpcBaseUrl>` once listening.
 */
import { startLocalHost } from './index';

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('--')) continue;
    // A flag without a value (--shared) does not take the next option as its value.
    const next = argv[i + 1];
    const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) : [a.slice(2), next !== undefined && !next.startsWith('--') ? argv[++i] : ''];
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
    shared:
      args.shared !== undefined
        ? {
            workerId: args['worker-id'] || undefined,
            leaseMs: args['lease-ms'] ? Number(args['lease-ms']) : undefined,
            pollMs: args['poll-ms'] ? Number(args['poll-ms']) : undefined,
            partitionCount: args.partitions ? Number(args.partitions) : undefined,
          }
        : undefined,
  });
  console.log(`READY ${host.baseUrl} ${host.rpcBaseUrl}`);
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
