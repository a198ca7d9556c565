/** EADDRINUSE names the setting that chose the port, so the fix is one line. */
export function explainPortInUse(error: unknown, settingFor: Record<string, number>): unknown {
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
  if (code !== 'EADDRINUSE' || typeof port !== 'number') return error;
  const setting = Object.entries(settingFor).find(([, chosen]) => chosen === port)?.[0];
  if (setting === undefined) return new Error(`Port ${port} on 127.0.0.1 is already in use.`);
  const example = port < 55_000 ? port + 10_000 : port - 10_000;
  return new Error(`Port ${port} on 127.0.0.1 is already in use (${setting}); set ${setting} to a free port (for example ${setting}=${example}, or 0 for any free port).`);
}

/** A port setting (PORT, AAS_EMULATOR_PORT, IDENTITY_EMULATOR_PORT) from the environment; 0 picks a free port. */
export function portFrom(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number from 0 to 65535 (0: any free port)`);
  return value;
}
