/** `d.hh:mm:ss` (the Durable extension's TimeSpan format) <-> milliseconds. */
export function formatTimeSpan(ms: number): string {
  const totalSeconds = Math.floor(ms / 1000);
  const days = Math.floor(totalSeconds / 86400);
  const h = Math.floor((totalSeconds % 86400) / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${days}.${pad(h)}:${pad(m)}:${pad(s)}`;
}

/** ISO timestamp as the extension writes it (no milliseconds when they are zero). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
