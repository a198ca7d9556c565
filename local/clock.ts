/**
 * Time source shared by the local durable host and the emulators, so that under a virtual clock
 * an AAS refresh "takes" six hours while the test takes milliseconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. The durable host advances it to the next due timer when idle. */
export class VirtualClock implements Clock {
  private current: number;

  constructor(start: number | Date = Date.UTC(2026, 0, 5, 2, 0, 0)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  /** Moves forward to `time`; never backwards. */
  advanceTo(time: number): void {
    if (time > this.current) this.current = time;
  }

  advanceBy(ms: number): void {
    this.current += Math.max(0, ms);
  }
}
