import { Calendar, minuteOf, shiftDay } from './calendar';
import { hash32, HyperLogLog } from './hll';
import {
  ACTIVE_MINUTES,
  MAU_DAYS,
  RETENTION_PERIODS,
  ratio,
  type ActivityFigures,
  type ActivityStore,
} from './activity';

/** Registrations remembered per day and process for retention (see README: error bounds). */
export const LOCAL_COHORT_CAP = 10_000;
/** Days of registration cohorts kept: today and the 30 before it (for d30). */
const COHORT_DAYS = 31;

/**
 * Activity of this process only, in bounded memory: one HyperLogLog per day for 30 days, one
 * per minute for the last six minutes and one for today's purchasers (about 600 KiB in all),
 * and per-day registration cohorts of at most {@link LOCAL_COHORT_CAP} 31-bit id hashes. A
 * call costs a hash and two register updates; days roll over once a minute at most.
 */
export class LocalActivity implements ActivityStore {
  private readonly days = new Map<string, HyperLogLog>();
  private readonly minuteSketches: HyperLogLog[] = [];
  private readonly minuteOfSlot: number[] = [];
  private readonly cohorts = new Map<string, Set<number>>();
  private minute = NaN;
  private day = '';
  private today!: HyperLogLog;
  private currentMinute!: HyperLogLog;
  private buyers = new HyperLogLog();
  private todayCohort!: Set<number>;
  /** Cohorts of 1, 7 and 30 days ago, and which of their members were seen today. */
  private readonly retentionCohorts: (Set<number> | undefined)[] = [];
  private readonly retained: Set<number>[] = [];

  constructor(
    private readonly calendar: Calendar,
    private readonly clock: () => number,
  ) {
    for (let i = 0; i < ACTIVE_MINUTES; i++) {
      this.minuteSketches.push(new HyperLogLog());
      this.minuteOfSlot.push(NaN);
    }
    // The first call advances to its day: the calendar's first day key loads ICU's time-zone
    // data (calendar.ts), which a preloaded process that records no activity never needs.
  }

  private advance(now: number): void {
    const minute = minuteOf(now);
    if (minute === this.minute) return;
    this.minute = minute;
    const slot = ((minute % ACTIVE_MINUTES) + ACTIVE_MINUTES) % ACTIVE_MINUTES;
    this.currentMinute = this.minuteSketches[slot]!;
    if (this.minuteOfSlot[slot] !== minute) {
      this.currentMinute.clear();
      this.minuteOfSlot[slot] = minute;
    }
    const day = this.calendar.dayOf(now);
    if (day !== this.day) this.newDay(day);
  }

  private newDay(day: string): void {
    this.day = day;
    const oldestDay = shiftDay(day, -(MAU_DAYS - 1));
    for (const key of this.days.keys()) if (key < oldestDay) this.days.delete(key);
    const oldestCohort = shiftDay(day, -(COHORT_DAYS - 1));
    for (const key of this.cohorts.keys()) if (key < oldestCohort) this.cohorts.delete(key);
    let today = this.days.get(day);
    if (!today) this.days.set(day, (today = new HyperLogLog()));
    this.today = today;
    let cohort = this.cohorts.get(day);
    if (!cohort) this.cohorts.set(day, (cohort = new Set()));
    this.todayCohort = cohort;
    this.buyers = new HyperLogLog();
    RETENTION_PERIODS.forEach(([, age], i) => {
      this.retentionCohorts[i] = this.cohorts.get(shiftDay(day, -age));
      this.retained[i] = new Set();
    });
  }

  seen(id: string): void {
    this.advance(this.clock());
    this.record(hash32(id));
  }

  private record(hash: number): void {
    this.today.add(hash);
    this.currentMinute.add(hash);
    const key = hash >>> 1;
    for (let i = 0; i < RETENTION_PERIODS.length; i++) {
      const cohort = this.retentionCohorts[i];
      if (cohort !== undefined && cohort.has(key)) this.retained[i]!.add(key);
    }
  }

  registered(id: string): void {
    this.advance(this.clock());
    const hash = hash32(id);
    if (this.todayCohort.size < LOCAL_COHORT_CAP) this.todayCohort.add(hash >>> 1);
    this.record(hash);
  }

  purchased(id: string): void {
    this.advance(this.clock());
    const hash = hash32(id);
    this.buyers.add(hash);
    this.record(hash);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  figures(): Promise<ActivityFigures> {
    const now = this.clock();
    this.advance(now);
    const daily = Math.round(this.today.count());
    const recent = this.minuteSketches.filter(
      (_, slot) => this.minute - this.minuteOfSlot[slot]! < ACTIVE_MINUTES,
    );
    const retention = {} as ActivityFigures['retention'];
    RETENTION_PERIODS.forEach(([period], i) => {
      const cohort = this.retentionCohorts[i];
      retention[period] =
        cohort === undefined ? undefined : ratio(this.retained[i]!.size, cohort.size);
    });
    return Promise.resolve({
      active: Math.round(HyperLogLog.countUnion(recent)),
      daily,
      monthly: Math.round(HyperLogLog.countUnion([...this.days.values()])),
      conversion: ratio(Math.round(this.buyers.count()), daily),
      retention,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
