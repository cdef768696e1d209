/** Command-line options of the examples. */

/** A port: `--name=N` in `argv`, else `env[envName]`, else `fallback`. 0 means any free port. */
export function portOption(argv: readonly string[], env: Record<string, string | undefined>, name: string, envName: string, fallback: number): number {
  const raw = argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? env[envName];
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid ${name} ${JSON.stringify(raw)}: expected 0 to 65535`);
  return port;
}
