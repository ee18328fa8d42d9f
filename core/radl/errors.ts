/** A RADL document that cannot be parsed or does not pass `check`. */
export class RadlError extends Error {
  /** 1-based line of the offending text, or null when unknown (e.g. RADL-JSON input). */
  readonly line: number | null;
  /** The message without the `Line N: ` prefix. */
  readonly detail: string;

  constructor(detail: string, line: number | null = null) {
    super(line ? `Line ${line}: ${detail}` : detail);
    this.name = "RadlError";
    this.line = line;
    this.detail = detail;
  }
}
