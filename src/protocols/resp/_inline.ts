/** Splitting an inline command into arguments, as redis-server's sdssplitargs() does. */

const SPACE = 0x20;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

/** isspace() of C: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === SPACE || (c >= 0x09 && c <= 0x0d);
}

/** What ends an unquoted word: space, \n, \r, \t, NUL (not \v or \f). */
function ends(c: number): boolean {
  return c === SPACE || c === 0x0a || c === 0x0d || c === 0x09 || c === 0;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 };

/**
 * The words of `line`: separated by whitespace; `"..."` with the escapes
 * `\n \r \t \b \a \\ \" \xHH`, `'...'` with `\'` only. A closing quote must
 * be followed by whitespace or the end; `undefined` when the quotes do not
 * balance. A NUL byte ends the line, as in C.
 */
export function splitInline(line: Uint8Array): Uint8Array[] | undefined {
  const args: Uint8Array[] = [];
  const n = line.length;
  const at = (i: number) => (i < n ? line[i]! : 0);
  let p = 0;
  for (;;) {
    while (p < n && line[p] !== 0 && isSpace(line[p]!)) p++;
    if (at(p) === 0) return args;
    // Fast path: a plain word is a view of the line.
    const start = p;
    while (p < n && !ends(line[p]!) && line[p] !== DQUOTE && line[p] !== SQUOTE) p++;
    if (p === n || ends(line[p]!)) {
      args.push(line.subarray(start, p));
      continue;
    }
    const word: number[] = Array.from(line.subarray(start, p));
    let inDouble = false;
    let inSingle = false;
    for (let done = false; !done;) {
      const c = at(p);
      if (inDouble) {
        if (c === BACKSLASH && at(p + 1) === 0x78 && hex(at(p + 2)) >= 0 && hex(at(p + 3)) >= 0) {
          word.push(hex(at(p + 2)) * 16 + hex(at(p + 3)));
          p += 3;
        } else if (c === BACKSLASH && at(p + 1) !== 0) {
          p++;
          word.push(ESCAPES[at(p)] ?? at(p));
        } else if (c === DQUOTE) {
          if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return undefined;
          done = true;
        } else if (c === 0) {
          return undefined;
        } else {
          word.push(c);
        }
      } else if (inSingle) {
        if (c === BACKSLASH && at(p + 1) === SQUOTE) {
          p++;
          word.push(SQUOTE);
        } else if (c === SQUOTE) {
          if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return undefined;
          done = true;
        } else if (c === 0) {
          return undefined;
        } else {
          word.push(c);
        }
      } else if (ends(c)) {
        done = true;
      } else if (c === DQUOTE) {
        inDouble = true;
      } else if (c === SQUOTE) {
        inSingle = true;
      } else {
        word.push(c);
      }
      if (at(p) !== 0) p++;
    }
    args.push(Uint8Array.from(word));
  }
}
