/** ISO 8601 durations (PnDTnHnMnS, PnW), as ADF and Logic Apps write timeouts. */
const pattern = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** Milliseconds in an ISO 8601 duration; years and months are refused (their length varies). */
export function parseIsoDuration(text: string): number {
  const match = pattern.exec(text.trim());
  if (match === null || text.trim().toUpperCase() === 'P' || /T$/i.test(text.trim())) {
    throw new Error(`"${text}" is not an ISO 8601 duration such as PT2H or P1DT30M`);
  }
  const [, weeks, days, hours, minutes, secs] = match;
  const n = (value: string | undefined) => (value === undefined ? 0 : Number(value));
  const ms = ((((n(weeks) * 7 + n(days)) * 24 + n(hours)) * 60 + n(minutes)) * 60 + n(secs)) * 1000;
  return Math.round(ms);
}

/** Seconds as an ISO 8601 duration, for responses. */
export function formatIsoDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return `PT${h > 0 ? `${h}H` : ''}${m > 0 ? `${m}M` : ''}${s > 0 || totalSeconds === 0 ? `${s}S` : ''}`;
}
