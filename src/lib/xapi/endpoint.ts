// Pool endpoints: parsed seed URLs, and the URL of another host that keeps the seed's scheme and port.
// IPv6 literals are bracketed in URLs (`https://[fd00::1]:443`) and unbracketed for sockets.
import { isIPv6 } from 'node:net';

export interface Endpoint {
  readonly protocol: 'https:' | 'http:';
  /** Hostname or IP literal, never bracketed (what `net.connect` wants). */
  readonly host: string;
  /** Explicit port, or undefined for the scheme's default. */
  readonly port: number | undefined;
  /** `https://[fd00::1]:8443`, for logs and stats (carries no credentials). */
  readonly origin: string;
}

export function parseEndpoint(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new TypeError(`invalid XAPI endpoint URL '${url}'`, { cause: err });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError(`XAPI endpoint must be http(s): '${url}'`);
  if (parsed.username !== '' || parsed.password !== '') throw new TypeError('XAPI endpoint must not carry credentials');
  return makeEndpoint(parsed.protocol, unbracket(parsed.hostname), parsed.port === '' ? undefined : Number(parsed.port));
}

/** The same scheme and port as `base`, another host (an address from HOST_IS_SLAVE or `host.address`). */
export function endpointForAddress(base: Endpoint, address: string): Endpoint {
  return makeEndpoint(base.protocol, unbracket(address.trim()), base.port);
}

export function formatHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function makeEndpoint(protocol: 'https:' | 'http:', host: string, port: number | undefined): Endpoint {
  const origin = `${protocol}//${formatHost(host)}${port === undefined ? '' : `:${port}`}`;
  return Object.freeze({ protocol, host, port, origin });
}

export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a !== undefined && b !== undefined && a.origin === b.origin;
}
