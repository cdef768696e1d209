import { parsePem } from "./pem.ts";

/** How long a connect may take before it fails with `timed-out`: long enough for a slow path, far shorter than the OS's two minutes. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** How long a TLS handshake may take on a server before the connection is dropped, so idle sockets cannot hold it open. */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Connections accepted by the runtime and not yet taken from the listener; past it new ones are closed. Node's and Linux's default backlog. */
export const DEFAULT_BACKLOG = 511;
/** The address a listener binds when none is given, as Deno and Bun do. */
export const DEFAULT_LISTEN_HOSTNAME = "0.0.0.0";
/** The address a client connects to when none is given, as Deno does. */
export const DEFAULT_CONNECT_HOSTNAME = "127.0.0.1";

/** Options shared by connections of every kind. */
export interface ConnOptions {
  /** Disable Nagle's algorithm, so small writes leave at once. Default `true`. */
  noDelay?: boolean;
  /** Send TCP keep-alive probes on an idle connection. Default `false`. */
  keepAlive?: boolean;
  /** Bytes read ahead of the reader before reading pauses. Default 64 KiB. */
  readableHighWaterMark?: number;
  /** Bytes queued for writing before `writer.ready` waits. Default 64 KiB. */
  writableHighWaterMark?: number;
}

/** Where and how to connect: a TCP `hostname` and `port`, or a Unix socket `path`. */
export interface ConnectOptions extends ConnOptions {
  /** Host name or IP address. Default `"127.0.0.1"`. */
  hostname?: string;
  /** TCP port, 1 to 65535. */
  port?: number;
  /** Path of a Unix domain socket (instead of `hostname` and `port`). */
  path?: string;
  /** Aborting it cancels the connect; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Fail with `timed-out` if the connection (and TLS handshake) takes longer. Default 30 000. */
  connectTimeoutMs?: number;
}

/** TLS settings of a client. */
export interface TlsClientOptions {
  /** The name sent in SNI and checked against the certificate. Default: `hostname`. */
  serverName?: string;
  /** PEM certificates to trust instead of the system's roots. */
  caCerts?: string[];
  /** PEM certificate chain for client authentication (with `key`). */
  cert?: string;
  /** PEM private key for client authentication (with `cert`). */
  key?: string;
  /** Protocols offered in ALPN, most preferred first. */
  alpnProtocols?: string[];
}

/** TLS settings of a server. */
export interface TlsServerOptions {
  /** PEM certificate chain, leaf first. */
  cert: string;
  /** PEM private key of the leaf certificate. */
  key: string;
  /** Protocols accepted in ALPN, most preferred first. */
  alpnProtocols?: string[];
  /** Drop a connection whose handshake takes longer. Default 10 000. */
  handshakeTimeoutMs?: number;
}

/** {@link ConnectOptions} plus {@link TlsClientOptions}. */
export interface TlsConnectOptions extends ConnectOptions, TlsClientOptions {}

/** Where to listen: a TCP `hostname` and `port` (0 picks a free one), or a Unix socket `path`. */
export interface ListenOptions extends ConnOptions {
  /** Address to bind. Default `"0.0.0.0"`. */
  hostname?: string;
  /** TCP port, 0 to 65535; 0 lets the system choose. */
  port?: number;
  /** Path of a Unix domain socket (instead of `hostname` and `port`). */
  path?: string;
  /** Aborting it closes the listener. */
  signal?: AbortSignal;
  /** Accepted connections waiting to be taken from the listener. Default 511. */
  backlog?: number;
}

/** {@link ListenOptions} plus {@link TlsServerOptions}. */
export interface TlsListenOptions extends ListenOptions, TlsServerOptions {}

/** Options of `startTls()`: the client side (the default) or the server side of the upgrade. */
export type StartTlsOptions =
  | (TlsClientOptions & StartTlsCommon & { role?: "client"; hostname?: string })
  | (TlsServerOptions & StartTlsCommon & { role: "server" });

/** Options of `startTls()` for either side. */
export interface StartTlsCommon {
  /** Bytes already read from the connection that belong to the TLS stream (from `Framed.parts()`). */
  leftover?: Uint8Array;
  /** Aborting it cancels the handshake. */
  signal?: AbortSignal;
  /** Fail with `timed-out` if the handshake takes longer. Default 30 000 (client) or 10 000 (server). */
  timeoutMs?: number;
}

/** An address to connect to or listen on, checked. */
export type Endpoint = { transport: "tcp"; hostname: string; port: number } | { transport: "unix"; path: string };

/** {@link ConnOptions} with defaults applied. */
export interface ResolvedConnOptions {
  noDelay: boolean;
  keepAlive: boolean;
  readableHighWaterMark: number | undefined;
  writableHighWaterMark: number | undefined;
}

/** {@link ConnectOptions} checked, with defaults applied. For adapter authors. */
export interface ResolvedConnect extends ResolvedConnOptions {
  endpoint: Endpoint;
  signal: AbortSignal | undefined;
  connectTimeoutMs: number;
}

/** {@link TlsClientOptions} checked. For adapter authors. */
export interface ResolvedTlsClient {
  serverName: string | undefined;
  caCerts: string[] | undefined;
  cert: string | undefined;
  key: string | undefined;
  alpnProtocols: string[] | undefined;
}

/** {@link TlsServerOptions} checked, with defaults applied. For adapter authors. */
export interface ResolvedTlsServer {
  cert: string;
  key: string;
  alpnProtocols: string[] | undefined;
  handshakeTimeoutMs: number;
}

/** {@link ListenOptions} checked, with defaults applied. For adapter authors. */
export interface ResolvedListen extends ResolvedConnOptions {
  endpoint: Endpoint;
  signal: AbortSignal | undefined;
  backlog: number;
}

function checkObject(what: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Invalid ${what} options ${JSON.stringify(options)}: expected an object`);
  }
  return options as Record<string, unknown>;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "object";
  return String(value);
}

function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`Invalid ${name} ${show(value)}: expected true or false`);
  return value;
}

function checkString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`Invalid ${name} ${show(value)}: expected a non-empty string`);
  }
  return value;
}

/** Checks a duration in milliseconds: a positive number, `Infinity` for none. */
export function checkMs(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`Invalid ${name} ${show(value)}: expected a positive number of milliseconds`);
  }
  return value;
}

function checkByteCount(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name} ${show(value)}: expected a positive integer of bytes`);
  }
  return value;
}

function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new TypeError(`Invalid signal ${show(value)}: expected an AbortSignal`);
  return value;
}

function checkEndpoint(o: Record<string, unknown>, listening: boolean): Endpoint {
  const { port, path } = o;
  const hostname = checkString("hostname", o.hostname);
  if (path !== undefined) {
    if (port !== undefined) throw new TypeError(`Invalid options: give a port or a path, not both (port ${show(port)}, path ${show(path)})`);
    if (hostname !== undefined) throw new TypeError(`Invalid options: a Unix socket path ${show(path)} takes no hostname`);
    const p = checkString("path", path)!;
    // sockaddr_un holds 108 bytes including the terminating NUL.
    if (new TextEncoder().encode(p).byteLength > 107) {
      throw new RangeError(`Invalid path ${show(p)}: a Unix socket path is at most 107 bytes`);
    }
    return { transport: "unix", path: p };
  }
  if (port === undefined) {
    throw new TypeError("Invalid options: expected a port (TCP) or a path (Unix socket)");
  }
  const min = listening ? 0 : 1;
  if (typeof port !== "number" || !Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`Invalid port ${show(port)}: expected an integer from ${min} to 65535`);
  }
  const host = hostname ?? (listening ? DEFAULT_LISTEN_HOSTNAME : DEFAULT_CONNECT_HOSTNAME);
  // IPv6 literals are accepted with or without brackets.
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return { transport: "tcp", hostname: bare, port };
}

function resolveConn(o: Record<string, unknown>): ResolvedConnOptions {
  return {
    noDelay: checkBoolean("noDelay", o.noDelay, true),
    keepAlive: checkBoolean("keepAlive", o.keepAlive, false),
    readableHighWaterMark: checkByteCount("readableHighWaterMark", o.readableHighWaterMark),
    writableHighWaterMark: checkByteCount("writableHighWaterMark", o.writableHighWaterMark),
  };
}

/**
 * Checks {@link ConnectOptions} and applies the defaults; throws `TypeError` or
 * `RangeError` naming the option and its value. For adapter authors.
 *
 * @example
 * ```ts
 * import { resolveConnectOptions } from "weft";
 *
 * const o = resolveConnectOptions({ port: 6379 });
 * console.assert(o.endpoint.transport === "tcp" && o.noDelay);
 * try {
 *   resolveConnectOptions({ port: 70000 });
 * } catch (e) {
 *   console.assert(e instanceof RangeError);
 * }
 * ```
 */
export function resolveConnectOptions(options: ConnectOptions | undefined): ResolvedConnect {
  const o = checkObject("connect", options);
  return {
    endpoint: checkEndpoint(o, false),
    signal: checkSignal(o.signal),
    connectTimeoutMs: checkMs("connectTimeoutMs", o.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    ...resolveConn(o),
  };
}

/** Checks {@link ListenOptions} and applies the defaults. For adapter authors. */
export function resolveListenOptions(options: ListenOptions | undefined): ResolvedListen {
  const o = checkObject("listen", options);
  const backlog = o.backlog ?? DEFAULT_BACKLOG;
  if (typeof backlog !== "number" || !Number.isInteger(backlog) || backlog < 1) {
    throw new RangeError(`Invalid backlog ${show(backlog)}: expected a positive integer`);
  }
  return { endpoint: checkEndpoint(o, true), signal: checkSignal(o.signal), backlog, ...resolveConn(o) };
}

function checkAlpn(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`Invalid alpnProtocols ${show(value)}: expected a non-empty array of strings`);
  }
  for (const p of value) {
    if (typeof p !== "string" || p.length === 0 || new TextEncoder().encode(p).byteLength > 255) {
      throw new TypeError(`Invalid alpnProtocols entry ${show(p)}: expected a string of 1 to 255 bytes`);
    }
  }
  return value as string[];
}

function checkPem(name: string, value: unknown, kind: "certificate" | "key"): string {
  if (typeof value !== "string") throw new TypeError(`Invalid ${name} ${show(value)}: expected a PEM string`);
  try {
    parsePem(value, kind);
  } catch (error) {
    throw new TypeError(`Invalid ${name}: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

/** Checks {@link TlsClientOptions}. For adapter authors. */
export function resolveTlsClientOptions(options: TlsClientOptions | undefined): ResolvedTlsClient {
  const o = checkObject("TLS", options);
  const caCerts = o.caCerts;
  if (caCerts !== undefined && !Array.isArray(caCerts)) {
    throw new TypeError(`Invalid caCerts ${show(caCerts)}: expected an array of PEM strings`);
  }
  const cert = o.cert === undefined ? undefined : checkPem("cert", o.cert, "certificate");
  const key = o.key === undefined ? undefined : checkPem("key", o.key, "key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError("Invalid options: a client certificate needs both cert and key");
  }
  return {
    serverName: checkString("serverName", o.serverName),
    caCerts: caCerts?.map((c, i) => checkPem(`caCerts[${i}]`, c, "certificate")),
    cert,
    key,
    alpnProtocols: checkAlpn(o.alpnProtocols),
  };
}

/** Checks {@link TlsServerOptions} and applies the defaults. For adapter authors. */
export function resolveTlsServerOptions(options: TlsServerOptions | undefined): ResolvedTlsServer {
  const o = checkObject("TLS", options);
  if (o.cert === undefined || o.key === undefined) {
    throw new TypeError("Invalid options: a TLS server needs cert and key (PEM strings)");
  }
  return {
    cert: checkPem("cert", o.cert, "certificate"),
    key: checkPem("key", o.key, "key"),
    alpnProtocols: checkAlpn(o.alpnProtocols),
    handshakeTimeoutMs: checkMs("handshakeTimeoutMs", o.handshakeTimeoutMs, DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS),
  };
}

/** {@link StartTlsOptions} checked, with defaults applied. For adapter authors. */
export type ResolvedStartTls = {
  /** Bytes for the TLS layer before anything the socket reads next (empty when none). */
  leftover: Uint8Array;
  signal: AbortSignal | undefined;
  timeoutMs: number;
} & (
  | { role: "client"; client: ResolvedTlsClient; hostname: string | undefined }
  | { role: "server"; server: ResolvedTlsServer }
);

/**
 * Checks {@link StartTlsOptions} (client side unless `role: "server"`) and
 * applies the defaults; throws `TypeError` or `RangeError` naming the option.
 * For adapter authors.
 *
 * @example
 * ```ts
 * import { resolveStartTlsOptions } from "weft";
 * const o = resolveStartTlsOptions({ hostname: "mail.example.com" });
 * console.assert(o.role === "client" && o.timeoutMs === 30_000 && o.leftover.byteLength === 0);
 * ```
 */
export function resolveStartTlsOptions(options: StartTlsOptions | undefined): ResolvedStartTls {
  const o = checkObject("startTls", options);
  const leftover = o.leftover ?? new Uint8Array(0);
  if (!(leftover instanceof Uint8Array)) {
    throw new TypeError(`Invalid leftover ${show(leftover)}: expected a Uint8Array`);
  }
  const signal = checkSignal(o.signal);
  if (o.role === "server") {
    const server = resolveTlsServerOptions(options as TlsServerOptions);
    return { role: "server", server, leftover, signal, timeoutMs: checkMs("timeoutMs", o.timeoutMs, server.handshakeTimeoutMs) };
  }
  if (o.role !== undefined && o.role !== "client") {
    throw new TypeError(`Invalid role ${show(o.role)}: expected "client" or "server"`);
  }
  return {
    role: "client",
    client: resolveTlsClientOptions(options as TlsClientOptions),
    hostname: checkString("hostname", o.hostname),
    leftover,
    signal,
    timeoutMs: checkMs("timeoutMs", o.timeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
  };
}
