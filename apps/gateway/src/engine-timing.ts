import { performance } from 'node:perf_hooks';
import type { InspectorFactory, InspectorLike, Verdict } from './inspector.js';

/** Upper bounds (seconds) of the engine-time histogram: engine calls take microseconds on a chunk. */
export const ENGINE_TIME_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1] as const;

/**
 * A histogram kept in plain numbers (one array increment per observation): the hot path pays
 * two `performance.now()` calls and a short bucket scan, never a metrics-library call.
 * `metrics.ts` renders it with prom-client at scrape time.
 */
export class DurationHistogram {
  /** counts[i] = observations ≤ bounds[i] and > bounds[i-1] (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  count = 0;
  sum = 0;

  constructor(readonly bounds: readonly number[] = ENGINE_TIME_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    this.counts[i]! += 1;
    this.count += 1;
    this.sum += seconds;
  }

  /** Cumulative buckets as Prometheus wants them: [le, count] with le = +Inf last. */
  cumulative(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      out.push([i < this.bounds.length ? this.bounds[i]! : Number.POSITIVE_INFINITY, acc]);
    }
    return out;
  }
}

/**
 * Wraps an inspector factory so every engine call (creating the inspector, each chunk each
 * way, each end) is timed into `histogram`. Errors pass through unchanged (the session's
 * fail-open/closed handling sees the same exception).
 */
export function timedInspectorFactory(base: InspectorFactory, histogram: DurationHistogram): InspectorFactory {
  return (compiled, connection) => {
    const t0 = performance.now();
    let inner: InspectorLike;
    try {
      inner = base(compiled, connection);
    } finally {
      histogram.observe((performance.now() - t0) / 1000);
    }
    return new TimedInspector(inner, histogram);
  };
}

/** An inspector whose every call is timed (a class, not closures: one per connection, no argument arrays per call). */
class TimedInspector implements InspectorLike {
  constructor(
    private readonly inner: InspectorLike,
    private readonly histogram: DurationHistogram,
  ) {}

  // The start time is taken before the call (arguments evaluate left to right); a call that
  // throws is not observed, its exception goes to the session's fail-open/closed handling.
  fromClient(chunk: Uint8Array): Verdict {
    return this.since(performance.now(), this.inner.fromClient(chunk));
  }

  fromServer(chunk: Uint8Array): Verdict {
    return this.since(performance.now(), this.inner.fromServer(chunk));
  }

  clientEnded(): Verdict {
    return this.since(performance.now(), this.inner.clientEnded());
  }

  serverEnded(): Verdict {
    return this.since(performance.now(), this.inner.serverEnded());
  }

  get inspecting(): boolean {
    return this.inner.inspecting;
  }

  get phase(): InspectorLike['phase'] {
    return this.inner.phase;
  }

  private since(start: number, verdict: Verdict): Verdict {
    this.histogram.observe((performance.now() - start) / 1000);
    return verdict;
  }
}
