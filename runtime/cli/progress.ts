// What `create` and `wait` show while an infrastructure settles. Pure functions: a frame of the
// live display (redrawn in place on a terminal), the ANSI that replaces the previous frame, and
// the plain line printed when the output is not a terminal. Also the rule for when waiting ends.

export interface ProgressSnapshot {
  infId: string;
  /** The aggregated state (GetInfrastructureState's `state`). */
  state: string;
  vmStates: Record<string, string>;
  elapsedMs: number;
}

/** States an infrastructure passes through on its way somewhere else. */
const TRANSIENT = new Set(["pending", "running", "unknown", "deleting"]);

/**
 * Whether waiting for `target` is over: `done` when the state is the target, `fail` when it has
 * settled elsewhere (for the default target `configured`: any settled state; for others: `failed`
 * or `unconfigured`, so that `--state stopped` can wait through `configured`), else `wait`.
 * An infrastructure still `pending` without VMs is being launched.
 */
export function judge(state: string, target: string): "done" | "wait" | "fail" {
  if (state === target) return "done";
  if (TRANSIENT.has(state)) return "wait";
  if (target === "configured") return "fail";
  return state === "failed" || state === "unconfigured" ? "fail" : "wait";
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

const SYMBOL: Record<string, string> = {
  configured: "✔",
  failed: "✖",
  unconfigured: "✖",
  unknown: "?",
  stopped: "■",
  off: "○",
};

const COLOR: Record<string, number> = {
  configured: 32,
  pending: 33,
  running: 36,
  deleting: 35,
  failed: 31,
  unconfigured: 31,
  unknown: 31,
  stopped: 90,
  off: 90,
};

export interface LiveOptions {
  /** Animation frame (the spinner turns with it). */
  frame?: number;
  /** ANSI colours (off with NO_COLOR or when asked). */
  color?: boolean;
  /** Terminal width: longer lines are cut. */
  columns?: number;
  /** At most this many VM rows; the rest are summed up in one line. */
  maxRows?: number;
}

/** One frame of the live display, as lines without trailing newlines. */
export function renderLive(snapshot: ProgressSnapshot, options: LiveOptions = {}): string[] {
  const frame = options.frame ?? 0;
  const color = options.color ?? false;
  const columns = Math.max(options.columns || 100, 20); // a pseudo-terminal may report 0
  const maxRows = Math.max(options.maxRows ?? 20, 2);
  const paint = (state: string, text: string) => (color && COLOR[state] ? `\x1b[${COLOR[state]}m${text}\x1b[0m` : text);
  const mark = (state: string) => SYMBOL[state] ?? SPINNER[frame % SPINNER.length];
  const cut = (plain: string, painted: string) => (plain.length > columns - 1 ? `${plain.slice(0, columns - 2)}…` : painted);

  const lines: string[] = [];
  const headPlain = `Infrastructure ${snapshot.infId}  ${mark(snapshot.state)} ${snapshot.state}  ${formatElapsed(snapshot.elapsedMs)}`;
  const title = color ? `\x1b[1mInfrastructure ${snapshot.infId}\x1b[0m` : `Infrastructure ${snapshot.infId}`;
  lines.push(cut(headPlain, `${title}  ${paint(snapshot.state, `${mark(snapshot.state)} ${snapshot.state}`)}  ${formatElapsed(snapshot.elapsedMs)}`));

  const ids = sortedIds(snapshot.vmStates);
  if (ids.length === 0) {
    lines.push("  no VMs yet");
    return lines;
  }
  const width = Math.max(2, ...ids.map((id) => id.length));
  lines.push(`  ${"VM".padEnd(width)}  STATE`);
  const shown = ids.length > maxRows ? ids.slice(0, maxRows - 1) : ids;
  for (const id of shown) {
    const state = snapshot.vmStates[id];
    const plain = `  ${id.padEnd(width)}  ${mark(state)} ${state}`;
    lines.push(cut(plain, `  ${id.padEnd(width)}  ${paint(state, `${mark(state)} ${state}`)}`));
  }
  if (shown.length < ids.length) {
    const rest = ids.slice(shown.length).map((id) => snapshot.vmStates[id]);
    lines.push(cut(`  … ${rest.length} more: ${countStates(rest)}`, `  … ${rest.length} more: ${countStates(rest)}`));
  }
  lines.push(cut(`  ${ids.length} VM${ids.length === 1 ? "" : "s"}: ${countStates(ids.map((id) => snapshot.vmStates[id]))}`, `  ${ids.length} VM${ids.length === 1 ? "" : "s"}: ${countStates(ids.map((id) => snapshot.vmStates[id]))}`));
  return lines;
}

/** The ANSI text that erases the previous frame of `previousLines` lines and draws `lines`. */
export function redraw(previousLines: number, lines: string[]): string {
  const up = previousLines > 0 ? `\x1b[${previousLines}F` : "";
  return `${up}\x1b[J${lines.map((line) => `${line}\n`).join("")}`;
}

/** The line printed when the output is not a terminal (printed only when it changes, time aside). */
export function plainLine(snapshot: ProgressSnapshot): string {
  return `[${formatElapsed(snapshot.elapsedMs).padStart(6)}] ${describeProgress(snapshot)}`;
}

/** `running: VM 0 configured, VM 1 pending`, or counts when there are more than 5 VMs. */
export function describeProgress(snapshot: Pick<ProgressSnapshot, "state" | "vmStates">): string {
  const ids = sortedIds(snapshot.vmStates);
  if (ids.length === 0) return `${snapshot.state} (no VMs yet)`;
  if (ids.length > 5) return `${snapshot.state}: ${ids.length} VMs, ${countStates(ids.map((id) => snapshot.vmStates[id]))}`;
  return `${snapshot.state}: ${ids.map((id) => `VM ${id} ${snapshot.vmStates[id]}`).join(", ")}`;
}

/** `2 configured, 1 pending`, in first-seen order. */
export function countStates(states: string[]): string {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return [...counts].map(([state, count]) => `${count} ${state}`).join(", ");
}

/** `0s`, `12s`, `1m05s`, `2h03m`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

function sortedIds(vmStates: Record<string, string>): string[] {
  return Object.keys(vmStates).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
}
