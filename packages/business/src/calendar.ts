/**
 * Day keys ("YYYY-MM-DD") in the configured time zone, computed once per minute: every time
 * zone in use today is offset from UTC by a whole number of minutes, so a day never starts
 * inside a minute, and per-call formatting (about 1 µs) stays off the hot path.
 */
export class Calendar {
  private format: Intl.DateTimeFormat | undefined;
  private cachedMinute = NaN;
  private cachedDay = '';

  /**
   * Throws a RangeError for an unknown time zone. The formatter of UTC, which every Intl
   * knows, is created by the first dayOf(): creating one loads ICU's time-zone data, about
   * 8 MiB of RSS (Node 20) that a preloaded process recording no activity should not pay.
   */
  constructor(readonly timezone: string) {
    if (timezone !== 'UTC') this.format = dayFormat(timezone);
  }

  /** The day key of `epochMs` in the time zone. */
  dayOf(epochMs: number): string {
    const minute = Math.floor(epochMs / 60_000);
    if (minute !== this.cachedMinute) {
      this.cachedMinute = minute;
      let year = '';
      let month = '';
      let day = '';
      for (const part of (this.format ??= dayFormat(this.timezone)).formatToParts(epochMs)) {
        if (part.type === 'year') year = part.value;
        else if (part.type === 'month') month = part.value;
        else if (part.type === 'day') day = part.value;
      }
      this.cachedDay = `${year}-${month}-${day}`;
    }
    return this.cachedDay;
  }
}

function dayFormat(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
}

/** The calendar day `days` after `dayKey` (negative for earlier days). */
export function shiftDay(dayKey: string, days: number): string {
  const [y, m, d] = dayKey.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Epoch minute of `epochMs` (the bucket of active_users_current). */
export function minuteOf(epochMs: number): number {
  return Math.floor(epochMs / 60_000);
}
