/**
 * Bind addresses ("[host]:port"), as the options accept them and the HTTP servers listen on
 * them. Defined beside the options so that options never depend on the transport.
 */

/** Splits ":8080" / "0.0.0.0:8080" / "127.0.0.1:0" / "[::1]:9443" into host and port. */
export function parseBindAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new Error(`bind address ${JSON.stringify(address)} must be host:port or :port`);
  }
  const host = match[1] ?? match[2];
  return { host: host ? host : undefined, port };
}
