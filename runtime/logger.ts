import type { Logger } from "../core/index.ts";

// Structured logs: one JSON object per line on standard error. Values under secret-looking
// keys are replaced, so credentials from a request never reach a log.

const LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LEVELS)[number];

const SECRET_KEY = /pass|token|secret|private|proxy|credential|key|auth/i;
export const REDACTED = "[redacted]";

export interface LoggerOptions {
  level?: string;
  fields?: Record<string, unknown>;
  /** Where lines go; standard error by default. */
  write?: (line: string) => void;
}

export interface RuntimeLogger extends Logger {
  child(fields: Record<string, unknown>): RuntimeLogger;
}

export function createLogger(options: LoggerOptions = {}): RuntimeLogger {
  const threshold = Math.max(0, LEVELS.indexOf((options.level ?? "info") as LogLevel));
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(level) < threshold) return;
    const entry = { time: new Date().toISOString(), level, message, ...redact(base), ...redact(fields ?? {}) };
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A copy of `fields` with secret-looking keys redacted, at any depth. */
export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, SECRET_KEY.test(key) ? REDACTED : redactValue(value)]));
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value && typeof value === "object" && !(value instanceof Error)) return redact(value as Record<string, unknown>);
  if (value instanceof Error) return value.message;
  return value;
}
