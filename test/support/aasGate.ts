import type { AasEmulator, RequestLogEntry } from '../../local/emulators/aas';
import type { BackendEmulator, BackendRequestLogEntry } from '../../local/emulators/backends';

/** What holdAnswer needs of an emulator: its answer gate, for log entries of type `Entry`. */
interface HoldsAnswers<Entry> {
  holdAnswers(gate: ((entry: Entry) => Promise<void> | undefined) | undefined): void;
}

/**
 * Holds the service's answer to the first request that `matches` (the service has already done
 * the work) until `release()`: a test can then act at a known point — "the app has asked, the
 * service has not answered" — instead of racing the app with a sleep. `reached` resolves when
 * that request has arrived. Takes the AAS emulator or either backend of `emulators.backend()`.
 */
export function holdAnswer(aas: AasEmulator, matches: (entry: RequestLogEntry) => boolean): { reached: Promise<RequestLogEntry>; release: () => void };
export function holdAnswer(service: BackendEmulator, matches: (entry: BackendRequestLogEntry) => boolean): { reached: Promise<BackendRequestLogEntry>; release: () => void };
export function holdAnswer<Entry>(service: HoldsAnswers<Entry>, matches: (entry: Entry) => boolean): { reached: Promise<Entry>; release: () => void } {
  let arrived: (entry: Entry) => void = () => undefined;
  let open: () => void = () => undefined;
  const reached = new Promise<Entry>((resolve) => {
    arrived = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let taken = false;
  service.holdAnswers((entry) => {
    if (taken || !matches(entry)) return undefined;
    taken = true;
    arrived(entry);
    return gate;
  });
  return {
    reached,
    release: () => {
      service.holdAnswers(undefined);
      open();
    },
  };
}
