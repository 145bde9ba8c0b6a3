// Maps an attempt's error to a stable, low-cardinality class for counting and
// reporting. Branches on error codes only, never on message text.

const BY_CODE: Record<string, string> = {
  ETIMEDOUT: 'timeout',
  ETIMEOUT: 'timeout', // c-ares
  ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout',
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ECONNRESET: 'reset',
  ECONNABORTED: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset', // undici: the peer closed the connection before the answer was in
  ENOTFOUND: 'dns_nxdomain', // c-ares: NXDOMAIN
  ENODATA: 'dns_nodata', // name exists, no record of the asked type
  ESERVFAIL: 'dns_servfail',
  EREFUSED: 'dns_refused',
  EFORMERR: 'dns_error',
  EBADRESP: 'dns_error',
  ENOTIMP: 'dns_error',
  NO_DEFAULT_ROUTE: 'no_default_route',
  NO_NAMESERVER: 'no_nameserver',
};

/** Returns the error class of a failed attempt: timeout, refused, unreachable, reset, dns_*, tls, http_NNN or other. */
export function classifyError(err: unknown): string {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const cls = BY_CODE[code];
    if (cls) return cls;
    if (/^HTTP_\d{3}$/.test(code)) return code.toLowerCase();
    if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_TLS)/.test(code))
      return 'tls';
  }
  return 'other';
}
