/** Glob matching as redis-server's stringmatchlen(): `*`, `?`, `[abc]`, `[^a-z]`, `\x`. */
export function globMatch(pattern: string, text: string): boolean {
  return match(pattern, 0, text, 0);
}

function match(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === "*") {
      while (p[pi + 1] === "*") pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) if (match(p, pi + 1, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === "?") {
      si++;
      pi++;
      continue;
    }
    if (c === "[") {
      pi++;
      const not = p[pi] === "^";
      if (not) pi++;
      let found = false;
      for (;;) {
        if (pi >= p.length) {
          pi--; // an unterminated class ends at the pattern's end, as in Redis
          break;
        }
        if (p[pi] === "\\" && pi + 2 <= p.length - 1) {
          pi++;
          if (p[pi] === s[si]) found = true;
        } else if (p[pi] === "]") {
          break;
        } else if (p[pi + 1] === "-" && pi + 2 < p.length && p[pi + 2] !== undefined) {
          let lo = p.charCodeAt(pi);
          let hi = p.charCodeAt(pi + 2);
          if (lo > hi) [lo, hi] = [hi, lo];
          const x = s.charCodeAt(si);
          pi += 2;
          if (x >= lo && x <= hi) found = true;
        } else if (p[pi] === s[si]) {
          found = true;
        }
        pi++;
      }
      if (not) found = !found;
      if (!found) return false;
      si++;
      pi++;
      continue;
    }
    if (c === "\\" && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    si++;
    pi++;
  }
  return si === s.length;
}
