/** Small statistics for the benchmarks: medians over repeated, alternating runs. */

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs each variant `rounds` times, alternating (A B C A B C ...), and returns every measurement per variant. */
export async function alternate<K extends string>(
  rounds: number,
  variants: Record<K, () => Promise<number>>,
  onRun?: (name: K, round: number, value: number) => void,
): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const value = await variants[name]();
      out[name].push(value);
      onRun?.(name, r, value);
    }
  }
  return out;
}
