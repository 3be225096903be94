// At most `perSecond` calls per key (account, action) in any one-second
// window, in process memory. Vendors publish per-account rates as a ceiling
// ("A maximum of 20 requests can be initiated per second", Tencent Cloud
// CreateUploadUrl), so each key keeps the times of its last calls: a token
// bucket would let a full bucket plus its refill through within one second,
// up to twice the rate. With several API processes each enforces the rate on
// its own share of the traffic.
const WINDOW_MS = 1000;
const MAX_KEYS = 100_000;

export class RateLimiter {
  /** Per key, the times of the calls let through in the current window, oldest first. */
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the call may proceed (and counts it). */
  take(key: string): boolean {
    const t = this.now();
    let log = this.calls.get(key);
    if (!log) {
      if (this.calls.size >= MAX_KEYS) this.forgetIdle(t);
      log = [];
      this.calls.set(key, log);
    }
    while (log.length > 0 && log[0] <= t - WINDOW_MS) log.shift();
    if (log.length >= this.perSecond) return false;
    log.push(t);
    return true;
  }

  /** Drops keys with no call in the window; an idle key would be let through anyway. */
  private forgetIdle(t: number): void {
    for (const [key, log] of this.calls) {
      if (log.length === 0 || log[log.length - 1] <= t - WINDOW_MS) this.calls.delete(key);
    }
    if (this.calls.size >= MAX_KEYS) this.calls.clear();
  }
}
