/** PEM labels accepted for each kind of input. */
const LABELS = {
  certificate: ["CERTIFICATE"],
  key: ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
} as const;

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Parses the PEM blocks of one kind (`certificate` or `key`) from `text` and
 * returns their DER bytes; throws `TypeError` with what is wrong. Each block
 * must be valid base64 whose content is one complete DER SEQUENCE, so a
 * truncated or garbled certificate is caught before any runtime sees it.
 *
 * @example
 * ```ts
 * import { parsePem } from "weft";
 * try {
 *   parsePem("not a certificate", "certificate");
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 */
export function parsePem(text: string, kind: keyof typeof LABELS): Uint8Array[] {
  const labels: readonly string[] = LABELS[kind];
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new TypeError(`PEM block BEGIN ${begin} ends with END ${end}`);
    if (!labels.includes(begin!)) continue;
    const der = decodeBase64(body!.replace(/\s+/g, ""), begin!);
    checkDer(der, begin!);
    out.push(der);
  }
  if (out.length === 0) {
    throw new TypeError(`no PEM block of ${labels.map((l) => `"${l}"`).join(" or ")} found`);
  }
  return out;
}

function decodeBase64(b64: string, label: string): Uint8Array {
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new TypeError(`the ${label} block is not valid base64`);
  }
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// A DER structure here is one SEQUENCE (0x30) whose length covers the rest exactly.
function checkDer(der: Uint8Array, label: string): void {
  let length: number;
  let header: number;
  if (der.length < 2 || der[0] !== 0x30) throw new TypeError(`the ${label} block is not a DER sequence`);
  const first = der[1]!;
  if (first < 0x80) {
    length = first;
    header = 2;
  } else {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) throw new TypeError(`the ${label} block has a bad DER length`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[2 + i]!;
    header = 2 + n;
  }
  if (header + length !== der.length) {
    throw new TypeError(`the ${label} block is truncated or has trailing bytes (${der.length} bytes, DER says ${header + length})`);
  }
}
