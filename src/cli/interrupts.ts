/**
 * Ctrl+C (SIGINT) and SIGTERM while a run is watched. The handlers only note the signal and wake
 * the wait between polls; the watch loop decides what to do at that quiet moment, so that a
 * signal during a status read never leaves half a frame or a request without its answer.
 */
export interface Interrupts {
  /** Waits `ms`, or less when a signal arrives; true when one did (or one is waiting). */
  sleep(ms: number): Promise<boolean>;
  /** Takes the waiting signal, if any. */
  take(): 'SIGINT' | 'SIGTERM' | undefined;
  /** On a terminal: asks a yes/no question, one key. Ctrl+C answers 'abort'. */
  ask(question: string): Promise<'yes' | 'no' | 'abort'>;
  /** Whether `ask` can be used: stdin and stderr are a terminal. */
  readonly interactive: boolean;
  dispose(): void;
}

export function processInterrupts(interactive: boolean, writePrompt: (text: string) => void): Interrupts {
  let pending: 'SIGINT' | 'SIGTERM' | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => () => {
    pending = signal;
    wake?.();
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  return {
    interactive,
    sleep(ms) {
      if (pending !== undefined) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve(false);
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve(true);
        };
      });
    },
    take() {
      const signal = pending;
      pending = undefined;
      return signal;
    },
    ask(question) {
      const stdin = process.stdin;
      writePrompt(question);
      return new Promise((resolve) => {
        // Raw mode: one key answers, and Ctrl+C arrives as a byte (\u0003) instead of a signal.
        stdin.setRawMode(true);
        stdin.resume();
        stdin.once('data', (data: Buffer) => {
          stdin.setRawMode(false);
          stdin.pause();
          const key = data.toString('utf8');
          const answer = key === '\u0003' ? 'abort' : /^y/i.test(key) ? 'yes' : 'no';
          writePrompt(`${answer === 'yes' ? 'y' : answer === 'no' ? 'n' : '^C'}\n`);
          resolve(answer);
        });
      });
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      wake?.();
    },
  };
}
