import type { AasEmulator, RequestLogEntry } from '../../local/emulators/aas';

/**
 * Holds AAS's answer to the first request that `matches` (AAS has already done the work) until
 * `release()`: a test can then act at a known point — "the app has asked, AAS has not answered" —
 * instead of racing the app with a sleep. `reached` resolves when that request has arrived.
 */
export function holdAnswer(aas: AasEmulator, matches: (entry: RequestLogEntry) => boolean): { reached: Promise<RequestLogEntry>; release: () => void } {
  let arrived: (entry: RequestLogEntry) => void = () => undefined;
  let open: () => void = () => undefined;
  const reached = new Promise<RequestLogEntry>((resolve) => {
    arrived = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let taken = false;
  aas.holdAnswers((entry) => {
    if (taken || !matches(entry)) return undefined;
    taken = true;
    arrived(entry);
    return gate;
  });
  return {
    reached,
    release: () => {
      aas.holdAnswers(undefined);
      open();
    },
  };
}
