import { after, describe, test } from "node:test";

// What every conformance kit is made of: named checks that pass, fail with a message saying
// what to fix, or are skipped with a reason. Checks are plain async functions, so any test
// runner can run them; registerConformance() hands them to node:test.

/** One check of a kit. */
export interface ConformanceCheck {
  /** Stable, for code that picks or asserts checks: `capabilities/declared-implemented`. */
  id: string;
  /** What the check asserts, as a test title. */
  name: string;
  /** Resolves when the check passes; rejects with ConformanceFailure or CheckSkipped otherwise. */
  run(): Promise<void>;
}

/** The checks a kit built for one plugin; close() releases what they started (clouds, worker pools, folders). */
export interface ConformanceSuite {
  name: string;
  checks: readonly ConformanceCheck[];
  close(): Promise<void>;
}

/** A failed check; the message says what is wrong and what to change. */
/**
 * The session a suite's checks share (a test cloud, a plugin loaded against it): opened by the
 * first check that runs, closed with the suite.
 */
export function sharedSession<S extends { close(): Promise<void> }>(open: () => Promise<S>): {
  check(id: string, name: string, run: (session: S) => Promise<void>): ConformanceCheck;
  close(): Promise<void>;
} {
  let opened: Promise<S> | undefined;
  return {
    check: (id, name, run) => ({ id, name, run: async () => run(await (opened ??= open())) }),
    close: async () => {
      const session = await opened?.catch(() => undefined);
      await session?.close();
    },
  };
}

export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConformanceFailure";
  }
}

/** A check that did not run, and why. */
export class CheckSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "CheckSkipped";
  }
}

/** Marks a fixture hook that cannot exist for this plugin; its checks are skipped with the reason. */
export interface NotApplicable {
  notApplicable: string;
}

export function notApplicable(reason: string): NotApplicable {
  return { notApplicable: reason };
}

/** A fixture hook: the function, notApplicable(why), or absent. */
export type Hook<F> = F | NotApplicable | undefined;

/** The hook's function; a skip with the reason when it is not applicable or absent. */
export function requireHook<F>(hook: Hook<F>, name: string, purpose: string): F {
  if (hook === undefined) throw new CheckSkipped(`the fixture has no ${name} hook: supply it to check ${purpose}, or set it to notApplicable(why)`);
  if (typeof hook === "object" && hook !== null && "notApplicable" in hook) throw new CheckSkipped(`not applicable: ${hook.notApplicable}`);
  return hook as F;
}

export interface CheckResult {
  id: string;
  name: string;
  status: "passed" | "failed" | "skipped";
  /** The failure's or the skip's message; empty when the check passed. */
  message: string;
}

/** Runs the checks (all, or those whose id is in `only`) in order, then closes the suite. */
export async function runConformance(suite: ConformanceSuite, options: { only?: readonly string[] } = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  try {
    for (const check of suite.checks) {
      if (options.only && !options.only.includes(check.id)) continue;
      results.push({ id: check.id, name: check.name, ...(await outcome(check)) });
    }
  } finally {
    await suite.close();
  }
  return results;
}

async function outcome(check: ConformanceCheck): Promise<Pick<CheckResult, "status" | "message">> {
  try {
    await check.run();
    return { status: "passed", message: "" };
  } catch (error) {
    if (error instanceof CheckSkipped) return { status: "skipped", message: error.reason };
    return { status: "failed", message: error instanceof Error ? error.message : String(error) };
  }
}

/** Registers the suite with node:test: one describe(), one test() per check, close() after them. */
export function registerConformance(suite: ConformanceSuite): void {
  describe(suite.name, () => {
    after(() => suite.close());
    for (const check of suite.checks) {
      test(check.name, async (t) => {
        try {
          await check.run();
        } catch (error) {
          if (!(error instanceof CheckSkipped)) throw error;
          t.skip(error.reason);
        }
      });
    }
  });
}

/** Fails the check with `message` unless `condition` holds. */
export function expect(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new ConformanceFailure(message());
}

/** `promise`, or a failure naming `what` when it does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceFailure(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's class and message, for failure messages. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
