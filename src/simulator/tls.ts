// A throw-away CA per simulator run and one leaf certificate per host address (IP SAN), so clients can verify
// the pool with the written ca.pem exactly as they would verify a real pool whose certificates they trust.
import { generate } from 'selfsigned';

export interface Pem {
  key: string;
  cert: string;
}

export async function createCa(poolName: string): Promise<Pem> {
  const notBeforeDate = new Date(Date.now() - 86400_000);
  const r = await generate([{ name: 'commonName', value: `${poolName} simulator CA` }, { name: 'organizationName', value: 'xen-otel-agent simulator' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate: new Date(Date.now() + 365 * 86400_000),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  return { key: r.private, cert: r.cert };
}

export async function createLeaf(ca: Pem, hostName: string, ip: string): Promise<Pem> {
  const r = await generate([{ name: 'commonName', value: hostName }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 86400_000), notAfterDate: new Date(Date.now() + 365 * 86400_000),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip }, { type: 2, value: hostName }] },
    ],
  });
  return { key: r.private, cert: r.cert };
}
