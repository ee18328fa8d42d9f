// Units of numeric features (spec §6): decimal K/M/G/T, binary Ki/Mi/Gi/Ti, case-insensitive.

const FACTORS: ReadonlyMap<string, number> = new Map([
  ["", 1], ["B", 1],
  ["K", 1e3], ["KB", 1e3], ["M", 1e6], ["MB", 1e6], ["G", 1e9], ["GB", 1e9], ["T", 1e12], ["TB", 1e12],
  ["KI", 2 ** 10], ["KIB", 2 ** 10], ["MI", 2 ** 20], ["MIB", 2 ** 20],
  ["GI", 2 ** 30], ["GIB", 2 ** 30], ["TI", 2 ** 40], ["TIB", 2 ** 40],
]);

/** Memory and storage units accepted by `check`, upper-cased as the reference lists them. */
export const MEMORY_UNITS: readonly string[] = [...FACTORS.keys()];

/** Units of `cpu.performance`. */
export const CPU_PERFORMANCE_UNITS: readonly string[] = ["ECU", "GCEU", "HRZ"];

/** How many base units (bytes for memory) one `unit` is; unknown units count as 1. */
export function unitFactor(unit: string): number {
  return FACTORS.get(unit.toUpperCase()) ?? 1;
}

/**
 * Converts `value` written in `fromUnit` to `toUnit`. Integers stay integers, rounded half to
 * even like Python's `round`; floats stay floats.
 */
export function convertUnits(value: number, isFloat: boolean, fromUnit: string, toUnit = ""): number {
  if (!fromUnit && !toUnit) return value;
  const converted = (value * unitFactor(fromUnit)) / unitFactor(toUnit);
  return isFloat ? converted : roundHalfEven(converted);
}

export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
