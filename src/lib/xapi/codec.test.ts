// Codec against xapi's exact byte format (notes/xapi.md §4.1, §4.5), plus proof of what the `xmlrpc` package alone
// gets wrong for XAPI (the reason codec.ts only uses its serializer, with XapiDouble). The decoder's own tests are in
// xmlrpc-decoder.test.ts.
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import xmlrpc from 'xmlrpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XapiDouble, decodeMethodResponse, encodeMethodCall, parseXapiDateTime, unwrapXapiResult, type XmlRpcValue } from './codec.ts';
import { XapiError, XapiErrorCode } from './errors.ts';
import { normaliseHost, normaliseHostMetrics, normaliseVm } from './records.ts';

const OK = (value: string) =>
  `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${value}</member></struct></value></param></params></methodResponse>`;

async function decodeValue(valueXml: string): Promise<XmlRpcValue> {
  return unwrapXapiResult(await decodeMethodResponse(OK(valueXml)), []);
}

describe('encodeMethodCall', () => {
  it('writes login with version and originator as four string params', () => {
    // arrange / act
    const xml = encodeMethodCall('session.login_with_password', ['root', 'pw', '1.0', 'xen-otel-agent']);
    // assert
    expect(xml).toBe(
      '<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params>' +
        '<param><value><string>root</string></value></param><param><value><string>pw</string></value></param>' +
        '<param><value><string>1.0</string></value></param><param><value><string>xen-otel-agent</string></value></param>' +
        '</params></methodCall>',
    );
  });

  it('writes event.from with a set of classes, an empty token and a double timeout even when integral', () => {
    const xml = encodeMethodCall('event.from', ['OpaqueRef:s', ['host', 'vm'], '', new XapiDouble(60)]);
    expect(xml).toBe(
      '<?xml version="1.0"?><methodCall><methodName>event.from</methodName><params>' +
        '<param><value><string>OpaqueRef:s</string></value></param>' +
        '<param><value><array><data><value><string>host</string></value><value><string>vm</string></value></data></array></value></param>' +
        '<param><value><string/></value></param>' +
        '<param><value><double>60</double></value></param></params></methodCall>',
    );
    expect(encodeMethodCall('x', [new XapiDouble(60.1)])).toContain('<double>60.1</double>');
  });

  it('keeps markup characters of a password intact (CDATA) so the server reads the exact bytes', async () => {
    const xml = encodeMethodCall('session.login_with_password', ['root', 'a<b&c]]>d']);
    const parsed = await parseCall(xml);
    expect(parsed.params).toEqual(['root', 'a<b&c]]>d']);
  });
});

describe('decodeMethodResponse + unwrapXapiResult (xapi byte format)', () => {
  it('decodes a Success with a bare-string session ref', async () => {
    expect(await decodeValue('<value>OpaqueRef:9f1c</value>')).toBe('OpaqueRef:9f1c');
  });

  it('turns a Failure into a coded error with the ErrorDescription array', async () => {
    const body =
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member>' +
      '<member><name>ErrorDescription</name><value><array><data><value>HOST_IS_SLAVE</value><value>192.168.1.10</value></data></array></value></member>' +
      '</struct></value></param></params></methodResponse>';
    const decoded = await decodeMethodResponse(body);
    expect(() => unwrapXapiResult(decoded, [])).toThrow(
      expect.objectContaining({ code: XapiErrorCode.HOST_IS_SLAVE, details: expect.objectContaining({ masterAddress: '192.168.1.10', xapiError: ['HOST_IS_SLAVE', '192.168.1.10'] }) }),
    );
  });

  it('redacts the session id from a SESSION_INVALID description', async () => {
    const body = OK('').replace(
      '<member><name>Status</name><value>Success</value></member><member><name>Value</name></member>',
      '<member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data><value>SESSION_INVALID</value><value>OpaqueRef:secret-1</value></data></array></value></member>',
    );
    const decoded = await decodeMethodResponse(body);
    let caught: unknown;
    try {
      unwrapXapiResult(decoded, ['OpaqueRef:secret-1']);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: XapiErrorCode.SESSION_INVALID, details: { xapiError: ['SESSION_INVALID', '[REDACTED]'] } });
    expect(JSON.stringify((caught as XapiError).details) + (caught as Error).message).not.toContain('secret-1');
  });

  it('keeps int64 as strings (untyped values) and reads booleans', async () => {
    const v = await decodeValue(
      '<value><struct><member><name>memory_overhead</name><value>404656128</value></member><member><name>domid</name><value>-1</value></member>' +
        '<member><name>enabled</name><value><boolean>1</boolean></value></member><member><name>multipathing</name><value><boolean>0</boolean></value></member></struct></value>',
    );
    expect(v).toEqual({ memory_overhead: '404656128', domid: '-1', enabled: true, multipathing: false });
  });

  it.each([
    ['1', 1],
    ['0.0627000033855438', 0.0627000033855438],
    ['1e+20', 1e20],
    ['inf', Infinity],
    ['-inf', -Infinity],
  ])('decodes <double>%s</double>', async (text, expected) => {
    expect(await decodeValue(`<value><double>${text}</double></value>`)).toBe(expected);
  });

  it('decodes <double>nan</double> to NaN', async () => {
    expect(await decodeValue('<value><double>nan</double></value>')).toBeNaN();
  });

  it('decodes dateTime.iso8601 as UTC whatever the zone notation', async () => {
    const v = await decodeValue('<value><dateTime.iso8601>20240101T12:00:00Z</dateTime.iso8601></value>');
    expect((v as Date).getTime()).toBe(Date.UTC(2024, 0, 1, 12));
    expect(parseXapiDateTime('19700101T00:00:00Z')).toBe(0);
    expect(parseXapiDateTime('20240101T12:00:00')).toBe(Date.UTC(2024, 0, 1, 12));
    expect(parseXapiDateTime('20240101T13:30:00+01:30')).toBe(Date.UTC(2024, 0, 1, 12));
  });

  it('decodes the void result <value></value> as an empty string', async () => {
    expect(await decodeValue('<value></value>')).toBe('');
  });

  it('decodes nested structs and arrays (an event batch with an <i4> ref count)', async () => {
    const v = await decodeValue(
      '<value><struct><member><name>events</name><value><array><data><value><struct><member><name>class</name><value>vm</value></member>' +
        '<member><name>snapshot</name><value><struct><member><name>VBDs</name><value><array><data><value>OpaqueRef:a</value><value>OpaqueRef:b</value></data></array></value></member>' +
        '<member><name>other_config</name><value><struct></struct></value></member></struct></value></member></struct></value></data></array></value></member>' +
        '<member><name>valid_ref_counts</name><value><struct><member><name>vm</name><value><i4>3</i4></value></member></struct></value></member>' +
        '<member><name>token</name><value>00000000000000000012,00000000000000000000</value></member></struct></value>',
    );
    expect(v).toEqual({
      events: [{ class: 'vm', snapshot: { VBDs: ['OpaqueRef:a', 'OpaqueRef:b'], other_config: {} } }],
      valid_ref_counts: { vm: 3 },
      token: '00000000000000000012,00000000000000000000',
    });
  });

  it('reads map keys that xapi writes unescaped', async () => {
    // xapi's writer does not escape member names: `&` and `>` reach the wire as-is.
    const v = await decodeValue('<value><struct><member><name>a&b>c</name><value>x &amp; y</value></member><member><name>mpath-3600a0b8</name><value>[1, 2]</value></member></struct></value>');
    expect(v).toEqual({ 'a&b>c': 'x & y', 'mpath-3600a0b8': '[1, 2]' });
  });

  it('rejects an HTML page (XO Lite) as a protocol error', async () => {
    await expect(decodeMethodResponse('<!DOCTYPE html><html><head><title>XO Lite</title></head><body></body></html>')).rejects.toMatchObject({ code: XapiErrorCode.PROTOCOL });
    await expect(decodeMethodResponse('<?xml version="1.0"?><methodResponse><params><param><value><struct>')).rejects.toMatchObject({ code: XapiErrorCode.PROTOCOL });
  });
});

describe('record normalisation', () => {
  it('converts the int64 strings, datetimes and booleans of the contract records', () => {
    const host = normaliseHost('OpaqueRef:h', { uuid: 'u', API_version_major: '2', API_version_minor: '21', enabled: true, resident_VMs: ['OpaqueRef:v'] });
    expect(host).toMatchObject({ ref: 'OpaqueRef:h', API_version_major: 2, API_version_minor: 21, enabled: true, multipathing: false, resident_VMs: ['OpaqueRef:v'], control_domain: 'OpaqueRef:NULL', software_version: {} });
    const vm = normaliseVm('OpaqueRef:v', { domid: '-1', memory_target: '4294967296', VCPUs_max: '4', power_state: 'Halted', tags: [] });
    expect(vm).toMatchObject({ domid: -1, memory_target: 4294967296, VCPUs_max: 4, power_state: 'Halted' });
    const hm = normaliseHostMetrics('OpaqueRef:m', { memory_total: '34359738368', last_updated: new Date(Date.UTC(2025, 0, 1)), live: true });
    expect(hm).toMatchObject({ memory_total: 34359738368, last_updated: Date.UTC(2025, 0, 1), live: true });
    expect(Object.isFrozen(vm)).toBe(true);
  });
});

// ---- proof of the `xmlrpc` package's gaps for XAPI ------------------------------------------------------------

const require = createRequire(import.meta.url);
type RawDeserializer = new () => { deserializeMethodResponse(s: NodeJS.ReadableStream, cb: (err: unknown, v: unknown) => void): void };
const RawDeserializerCtor = require('xmlrpc/lib/deserializer.js') as RawDeserializer;
const RawSerializer = require('xmlrpc/lib/serializer.js') as { serializeMethodCall(m: string, p: unknown[]): string };

function rawDecode(body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = new PassThrough();
    new RawDeserializerCtor().deserializeMethodResponse(s, (err, v) => (err ? reject(err as Error) : resolve(v)));
    s.end(body);
  });
}

function parseCall(xml: string): Promise<{ method: string; params: unknown[] }> {
  type D = new () => { deserializeMethodCall(s: NodeJS.ReadableStream, cb: (err: unknown, m: string, p: unknown[]) => void): void };
  const Ctor = require('xmlrpc/lib/deserializer.js') as D;
  return new Promise((resolve, reject) => {
    const s = new PassThrough();
    new Ctor().deserializeMethodCall(s, (err, method, params) => (err ? reject(err as Error) : resolve({ method, params })));
    s.end(xml);
  });
}

describe('the xmlrpc package on its own (why codec.ts only keeps its serializer)', () => {
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'text/html', 'WWW-Authenticate': 'Basic realm="xapi"' });
      res.end('<html><body><h1>HTTP 401 unauthorised</h1>Please check your credentials and retry.</body></html>');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('rejects <double>inf</double> and <double>nan</double>', async () => {
    await expect(rawDecode(OK('<value><double>inf</double></value>'))).rejects.toThrow(/Expected a double/);
    await expect(rawDecode(OK('<value><double>nan</double></value>'))).rejects.toThrow(/Expected a double/);
  });

  it('reads a zone-less dateTime in the local zone, not in UTC as xapi means it', async () => {
    const saved = process.env['TZ'];
    process.env['TZ'] = 'Asia/Tokyo';
    try {
      const raw = (await rawDecode(OK('<value><dateTime.iso8601>20240101T12:00:00</dateTime.iso8601></value>'))) as { Value: Date };
      expect(raw.Value.getTime()).toBe(Date.UTC(2024, 0, 1, 3));
      const ours = (await decodeValue('<value><dateTime.iso8601>20240101T12:00:00</dateTime.iso8601></value>')) as Date;
      expect(ours.getTime()).toBe(Date.UTC(2024, 0, 1, 12));
    } finally {
      if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
  });

  it('sends an integral timeout as <int>, which is not a float for xapi', () => {
    expect(RawSerializer.serializeMethodCall('event.from', [60])).toContain('<int>60</int>');
  });

  it('hides the HTTP status of a 401 behind a parse error', async () => {
    const client = xmlrpc.createClient({ host: '127.0.0.1', port, path: '/' });
    const err = await new Promise<unknown>((resolve) => client.methodCall('pool.get_all', ['OpaqueRef:x'], (e) => resolve(e)));
    expect(String(err)).toMatch(/Unknown XML-RPC tag|Invalid XML-RPC message/);
    expect(err).not.toHaveProperty('code', 401);
  });
});
