// A CA and the webhook's serving certificate, for clusters without
// cert-manager. Made with @peculiar/x509 on Node's WebCrypto: a well-kept
// library, no openssl binary in the image. ECDSA P-256: small, fast, and
// accepted by every supported API server.
// First: @peculiar/x509 (its DI container, tsyringe) needs the Reflect metadata polyfill before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface IssuedCerts {
  /** PEM of the CA certificate: what the webhook configuration's caBundle carries (base64). */
  readonly caPem: string;
  /** PEM of the serving certificate. */
  readonly certPem: string;
  /** PEM (PKCS#8) of the serving certificate's private key. */
  readonly keyPem: string;
}

/** The names a Service is reached by inside the cluster; the API server calls NAME.NS.svc. */
export function serviceNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/** Issues a fresh CA and a serving certificate for `service` in `namespace`, valid `days` from `now`. The CA key is discarded. */
export async function issueCerts(
  service: string,
  namespace: string,
  days: number,
  now = new Date(),
): Promise<IssuedCerts> {
  const crypto = globalThis.crypto;
  // Backdated a little: a node whose clock runs behind must not see a certificate from the future.
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const caKeys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=netready webhook CA (${namespace}/${service})`,
      keys: caKeys,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    },
    crypto,
  );
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = serviceNames(service, namespace);
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: `CN=${names[2]}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    caPem: ca.toString('pem'),
    certPem: cert.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

/** A kubernetes.io/tls Secret holding the serving pair (and ca.crt, for reference). */
export function secretManifest(name: string, namespace: string, certs: IssuedCerts): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    '  labels:',
    '    app.kubernetes.io/name: netready-webhook',
    'type: kubernetes.io/tls',
    'data:',
    `  tls.crt: ${b64(certs.certPem)}`,
    `  tls.key: ${b64(certs.keyPem)}`,
    `  ca.crt: ${b64(certs.caPem)}`,
    '',
  ].join('\n');
}
