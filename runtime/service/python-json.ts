// JSON text as Python's json.dumps writes it (", " and ": " separators, non-ASCII escaped):
// ExportInfrastructure returns such a string and clients may compare it.

export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : value > 0 ? "Infinity" : Number.isNaN(value) ? "NaN" : "-Infinity";
  if (typeof value === "string") return asciiString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([key, v]) => `${asciiString(key)}: ${pythonJsonDumps(v)}`).join(", ")}}`;
}

function asciiString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
