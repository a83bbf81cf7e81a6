// The pool client over real loopback sockets against fake xapi hosts that answer with xapi's exact bytes.
import { afterEach, describe, expect, it } from 'vitest';
import { XapiErrorCode, type XapiError } from './errors.ts';
import { createXapiPool } from './pool.ts';
import { ResponseBuffer } from './response-buffer.ts';
import { FakePool, seedPool } from './testing/fake-pool.ts';
import { deadUrl, startFakeHost, startFakeHostsOnOnePort, xapiFailure, type FakeHost, type Reply } from './testing/fake-xapi.ts';
import { PASSWORD, poolOptions, renderLogs, signal, until, type LogEntry } from './testing/harness.ts';
import type { XapiPool, XapiPoolOptions } from './types.ts';

const cleanups: (() => Promise<void>)[] = [];
let logs: LogEntry[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // No log line, error detail or cause may carry the password or a session id.
  const rendered = renderLogs(logs);
  expect(rendered).not.toContain(PASSWORD);
  expect(rendered).not.toMatch(/OpaqueRef:session-/);
  logs = [];
});

interface Setup {
  model: FakePool;
  master: FakeHost;
  slave: FakeHost;
  pool: XapiPool;
}

/** Master on 127.0.0.2 and a member on 127.0.0.3, same port; the pool client is seeded with `seeds`. */
async function setup(opts: { seeds?: (hosts: FakeHost[]) => string[]; options?: Partial<XapiPoolOptions>; get?: (path: string, host: FakeHost) => Reply | Promise<Reply>; start?: boolean } = {}): Promise<Setup> {
  const model = new FakePool();
  model.masterAddress = '127.0.0.2';
  const get = opts.get;
  const [master, slave] = await startFakeHostsOnOnePort(
    ['127.0.0.2', '127.0.0.3'].map((address) => ({ address, rpc: model.rpc, ...(get === undefined ? {} : { get: (g: { path: string }, h: FakeHost) => get(g.path, h) }) })),
  );
  seedPool(model, '127.0.0.3');
  cleanups.push(async () => {
    model.shutdown();
    await master!.close();
    await slave!.close();
  });
  const pool = createXapiPool(poolOptions(opts.seeds?.([master!, slave!]) ?? [master!.url], logs, opts.options), { retryBaseMs: 10, retryMaxMs: 50 });
  cleanups.push(() => pool.close());
  if (opts.start !== false) await pool.start(signal());
  return { model, master: master!, slave: slave!, pool };
}

const methods = (host: FakeHost) => host.calls.map((c) => c.method);
const count = (host: FakeHost, method: string) => methods(host).filter((m) => m === method).length;

describe('login and master discovery', () => {
  it('logs in once with version and originator, never with Basic auth', async () => {
    const { master, pool } = await setup();
    const login = master.calls.find((c) => c.method === 'session.login_with_password');
    expect(login?.params).toEqual(['root', PASSWORD, '1.0', 'xen-otel-agent-test']);
    expect(master.calls.every((c) => c.headers.authorization === undefined)).toBe(true);
    expect(pool.stats()).toMatchObject({ logins: 1, masterAddress: master.url });
  });

  it('follows HOST_IS_SLAVE from a member seed to the master, keeping scheme and port', async () => {
    const { master, slave, pool } = await setup({ seeds: ([, s]) => [s!.url] });
    expect(methods(slave)).toEqual(['session.login_with_password']);
    expect(count(master, 'session.login_with_password')).toBe(1);
    expect(pool.stats().masterAddress).toBe(master.url);
  });

  it('remembers the last known master: a re-login goes there directly, not through the seed', async () => {
    const { model, master, slave, pool } = await setup({ seeds: ([, s]) => [s!.url] });
    model.invalidateSessions();
    await expect(pool.call('VM.get_all', [], signal())).resolves.toEqual(['OpaqueRef:vm1', 'OpaqueRef:dom0-1']);
    expect(count(slave, 'session.login_with_password')).toBe(1);
    expect(count(master, 'session.login_with_password')).toBe(2);
  });

  it('fails over along the seed list when a seed is unreachable', async () => {
    const dead = await deadUrl('127.0.0.4');
    const { master, pool } = await setup({ seeds: ([m]) => [dead, m!.url] });
    expect(pool.stats().masterAddress).toBe(master.url);
    expect(pool.inventory().generation).toBeGreaterThan(0);
  });

  it('finds the new master after the old one goes away and reloads the inventory', async () => {
    const { model, master, slave, pool } = await setup({ seeds: ([m, s]) => [m!.url, s!.url] });
    const before = pool.inventory().generation;
    model.masterAddress = slave.address;
    await master.close(); // the pending event.from breaks: UNREACHABLE → rediscovery over the seeds
    await until(() => pool.stats().masterAddress === slave.url && pool.inventory().generation > before, 'failover to the member');
    expect(count(slave, 'session.login_with_password')).toBe(1);
  });

  it('reports UNREACHABLE with every attempt when no seed answers', async () => {
    const seeds = [await deadUrl('127.0.0.5'), await deadUrl('127.0.0.6')];
    const pool = createXapiPool(poolOptions(seeds, logs), { retryBaseMs: 10_000 });
    cleanups.push(() => pool.close());
    const err = (await pool.start(signal()).catch((e: unknown) => e)) as XapiError;
    expect(err.code).toBe(XapiErrorCode.UNREACHABLE);
    expect((err.details['attempts'] as unknown[]).length).toBe(2);
  });

  it('fails fast on wrong credentials without leaking the password', async () => {
    const { model, master } = await setup({ start: false });
    model.users.set('root', 'other');
    const pool = createXapiPool(poolOptions([master.url], logs), { retryBaseMs: 10_000 });
    cleanups.push(() => pool.close());
    const err = (await pool.start(signal()).catch((e: unknown) => e)) as XapiError;
    expect(err.code).toBe(XapiErrorCode.AUTH_FAILED);
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(PASSWORD);
  });

  it('rejects an endpoint that answers HTML (XO Lite) with a protocol error', async () => {
    const xoLite = await startFakeHost({
      rpc: () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<!DOCTYPE html><html><head><title>XO Lite</title></head></html>' }),
    });
    cleanups.push(() => xoLite.close());
    const pool = createXapiPool(poolOptions([xoLite.url], logs), { retryBaseMs: 10_000 });
    cleanups.push(() => pool.close());
    await expect(pool.start(signal())).rejects.toMatchObject({ code: XapiErrorCode.PROTOCOL });
  });
});

describe('calls and sessions', () => {
  it('re-logs in once on SESSION_INVALID and retries the call', async () => {
    const { model, pool } = await setup();
    model.invalidateSessions();
    await expect(pool.call('SR.get_all', [], signal())).resolves.toEqual(['OpaqueRef:sr1']);
    expect(pool.stats().logins).toBe(2);
  });

  it('re-logs in once on HTTP 401', async () => {
    const { model, pool } = await setup();
    model.fail('SR.get_all', { status: 401, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>HTTP 401 unauthorised</h1></body></html>' });
    await expect(pool.call('SR.get_all', [], signal())).resolves.toEqual(['OpaqueRef:sr1']);
    expect(pool.stats().logins).toBe(2);
  });

  it('gives up after one re-login and redacts the session id from the error', async () => {
    const { model, pool } = await setup();
    model.fail('SR.get_all', xapiFailure(['SESSION_INVALID', 'OpaqueRef:session-1-secret']), xapiFailure(['SESSION_INVALID', 'OpaqueRef:session-2-secret']));
    const err = (await pool.call('SR.get_all', [], signal()).catch((e: unknown) => e)) as XapiError;
    expect(err.code).toBe(XapiErrorCode.SESSION_INVALID);
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('session-');
    expect(pool.stats().logins).toBe(2);
  });

  it('maps other XAPI failures to XAPI_ERR_FAILURE with the description', async () => {
    const { pool } = await setup();
    await expect(pool.call('VM.get_record', ['OpaqueRef:nope'], signal())).rejects.toMatchObject({
      code: XapiErrorCode.FAILURE,
      details: { xapiCode: 'MESSAGE_METHOD_UNKNOWN', xapiError: ['MESSAGE_METHOD_UNKNOWN', 'VM.get_record'] },
    });
  });

  it('times out a call that gets no answer', async () => {
    const { model, pool } = await setup({ options: { requestTimeoutMs: 300 } });
    model.fail('SR.get_all', 'hang');
    // The request's own timeout fired (its details carry requestTimeoutMs), not the caller's deadline: no wall-clock
    // bound, which a loaded machine could overrun.
    const caller = signal();
    await expect(pool.call('SR.get_all', [], caller)).rejects.toMatchObject({ code: XapiErrorCode.TIMEOUT, details: { timeoutMs: 300 } });
    expect(caller.aborted).toBe(false);
  });

  it("stops at the caller's abort signal", async () => {
    const { model, pool } = await setup();
    model.fail('SR.get_all', 'hang');
    const controller = new AbortController();
    const pending = pool.call('SR.get_all', [], controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: XapiErrorCode.ABORTED });
  });

  it('cuts an XML-RPC answer larger than maxResponseBytes', async () => {
    const { model, pool } = await setup({ options: { maxResponseBytes: 20_000 } });
    model.fail('SR.get_all', { status: 200, headers: { 'content-type': 'text/xml' }, body: 'x'.repeat(50_000) });
    await expect(pool.call('SR.get_all', [], signal())).rejects.toMatchObject({ code: XapiErrorCode.RESPONSE_TOO_LARGE });
  });

  it('rejects an answer that stops being XML-RPC mid-stream with the PROTOCOL error of a whole-body decode', async () => {
    const { model, pool } = await setup();
    const broken = `<?xml version="1.0"?><methodResponse><params><param><value><struct>${'<member><name>k</name><value>v</value></member>'.repeat(2000)}<html>OpaqueRef:session-leak</html>`;
    model.fail('SR.get_all', { status: 200, headers: { 'content-type': 'text/xml' }, body: broken });
    const err = (await pool.call('SR.get_all', [], signal()).catch((e: unknown) => e)) as XapiError;
    expect(err).toMatchObject({ code: XapiErrorCode.PROTOCOL, message: 'XAPI answer is not XML-RPC', details: { method: 'SR.get_all', contentType: 'text/xml' } });
    expect(err.cause).toMatchObject({ code: XapiErrorCode.PROTOCOL, details: { offset: broken.indexOf('<html>') } });
    expect(JSON.stringify({ d: err.details, c: (err.cause as XapiError).details })).not.toContain('session-leak');
  });

  it('reads host.get_servertime as unix milliseconds', async () => {
    const { pool } = await setup();
    await expect(pool.hostServerTime('OpaqueRef:host1', signal())).resolves.toBe(Date.UTC(2025, 0, 2, 3, 4, 5));
  });
});

describe('inventory and events', () => {
  it('loads typed records once and keeps one event.from pending', async () => {
    const { master, pool } = await setup();
    const inv = pool.inventory();
    expect(inv.generation).toBe(1);
    expect(inv.pool).toMatchObject({ ref: 'OpaqueRef:pool', master: 'OpaqueRef:host1', name_label: 'pool one' });
    expect(inv.hosts.get('OpaqueRef:host2')).toMatchObject({ address: '127.0.0.3', API_version_major: 2, API_version_minor: 21, enabled: true, multipathing: false });
    expect(inv.hostMetrics.get('OpaqueRef:hm1')).toMatchObject({ memory_total: 34359738368, last_updated: Date.UTC(2025, 0, 1) });
    expect(inv.vms.get('OpaqueRef:vm1')).toMatchObject({ domid: 7, memory_target: 4294967296, resident_on: 'OpaqueRef:host2', tags: ['prod'] });
    expect(inv.srs.get('OpaqueRef:sr1')).toMatchObject({ physical_size: -1, shared: true });
    expect(inv.refOfUuid('vm1-uuid')).toBe('OpaqueRef:vm1');
    // the token is taken (event.inject) before the records are read, so no change can slip between the two
    const order = methods(master);
    expect(order.indexOf('event.inject')).toBeLessThan(order.indexOf('VM.get_all_records'));
    await until(() => count(master, 'event.from') === 1, 'event.from received');
    expect(pool.stats().pendingEventCalls).toBe(1);
    expect(master.calls.find((c) => c.method === 'event.from')?.body).toMatch(/<double>30<\/double>/);
  });

  it('applies event batches as new immutable snapshots', async () => {
    const { model, pool } = await setup();
    const first = pool.inventory();
    const vm = first.vms.get('OpaqueRef:vm1')!;
    model.put('VM', 'OpaqueRef:vm1', { ...model.records.get('VM')!.get('OpaqueRef:vm1')!, name_label: 'web 1 renamed', power_state: 'Halted', domid: '-1' });
    await until(() => pool.inventory().generation === 2, 'rename applied');
    expect(pool.inventory().vms.get('OpaqueRef:vm1')).toMatchObject({ name_label: 'web 1 renamed', power_state: 'Halted', domid: -1 });
    expect(first.vms.get('OpaqueRef:vm1')).toBe(vm); // the old snapshot did not move
    expect(pool.inventory().hosts).toBe(first.hosts); // untouched tables are shared
    model.remove('VM', 'OpaqueRef:vm1');
    await until(() => pool.inventory().generation === 3, 'delete applied');
    expect(pool.inventory().vms.has('OpaqueRef:vm1')).toBe(false);
    expect(pool.inventory().refOfUuid('vm1-uuid')).toBeUndefined();
    expect(pool.stats().eventBatches).toBeGreaterThanOrEqual(2);
  });

  it('restarts from scratch on EVENTS_LOST without logging in again', async () => {
    const { model, master, pool } = await setup({ start: false });
    model.fail('event.from', xapiFailure(['EVENTS_LOST']));
    await pool.start(signal());
    await until(() => count(master, 'VM.get_all_records') === 2 && pool.stats().pendingEventCalls === 1, 'reload after EVENTS_LOST');
    expect(pool.stats().logins).toBe(1);
    expect(pool.inventory().generation).toBe(2);
  });

  it('re-logs in and reloads when event.from says SESSION_INVALID', async () => {
    const { model, master, pool } = await setup({ start: false });
    model.fail('event.from', xapiFailure(['SESSION_INVALID', 'OpaqueRef:session-1-secret']));
    await pool.start(signal());
    await until(() => count(master, 'VM.get_all_records') === 2, 'reload after SESSION_INVALID');
    expect(pool.stats().logins).toBe(2);
  });

  it('falls back to event.from with an empty token when event.inject is unknown', async () => {
    const { model, master, pool } = await setup({ start: false });
    model.fail('event.inject', xapiFailure(['MESSAGE_METHOD_UNKNOWN', 'event.inject']));
    await pool.start(signal());
    expect(pool.inventory().vms.get('OpaqueRef:vm1')).toMatchObject({ domid: 7 });
    expect(count(master, 'VM.get_all_records')).toBe(0);
    expect(pool.inventory().generation).toBe(1);
    model.put('VM', 'OpaqueRef:vm1', { ...model.records.get('VM')!.get('OpaqueRef:vm1')!, name_label: 'renamed' });
    await until(() => pool.inventory().vms.get('OpaqueRef:vm1')?.name_label === 'renamed', 'event after fallback');
  });

  it('makes no XML-RPC call in a steady cycle of host requests', async () => {
    const { pool } = await setup({ get: () => ({ status: 200, headers: { 'content-type': 'text/xml' }, body: '<xport/>' }) });
    await until(() => pool.stats().pendingEventCalls === 1, 'event.from pending');
    const before = pool.stats().xmlRpcCalls;
    for (let cycle = 0; cycle < 3; cycle++) {
      for (const ref of pool.inventory().hosts.keys()) await pool.getFromHost(ref, { path: '/rrd_updates', query: { start: '-10' }, accept: 'text/xml', signal: signal() });
      expect(pool.inventory().vms.size).toBe(2);
    }
    expect(pool.stats()).toMatchObject({ xmlRpcCalls: before, httpRequests: 6, httpBytes: 6 * '<xport/>'.length, pendingEventCalls: 1 });
  });
});

describe('host HTTP', () => {
  it('sends the session by cookie, the explicit Accept and a pct-encoded query to host.address', async () => {
    const { master, slave, pool } = await setup({ get: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"meta":{}}' }) });
    const res = await pool.getFromHost('OpaqueRef:host2', {
      path: '/rrd_updates',
      query: { start: '-60', cf: 'AVERAGE', host: 'true', vm_uuid: ['a', 'b'], note: 'a b' },
      accept: 'application/json',
      signal: signal(),
    });
    expect(res).toMatchObject({ status: 200, headers: { 'content-type': 'application/json' } });
    expect(res.body.toString()).toBe('{"meta":{}}');
    expect(master.gets).toEqual([]);
    expect(slave.gets).toHaveLength(1);
    const get = slave.gets[0]!;
    expect(get.path).toBe('/rrd_updates?start=-60&cf=AVERAGE&host=true&vm_uuid=a&vm_uuid=b&note=a%20b');
    expect(get.headers.accept).toBe('application/json');
    expect(get.headers.cookie).toMatch(/^session_id=OpaqueRef:session-1-secret$/);
    expect(get.headers.authorization).toBeUndefined();
  });

  it('reads a body into a caller\'s reused buffer: the same bytes, and no new memory for the next body', async () => {
    const body = 'x'.repeat(50_000) + 'y'.repeat(250_000); // several socket chunks
    const { pool } = await setup({ get: () => ({ status: 200, headers: { 'content-type': 'text/xml' }, body }) });
    const into = new ResponseBuffer(1024);
    const first = await pool.getFromHost('OpaqueRef:host2', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal(), into });
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe(body);
    const memory = first.body.buffer;
    const second = await pool.getFromHost('OpaqueRef:host2', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal(), into });
    expect(second.body.toString()).toBe(body);
    expect(second.body.buffer).toBe(memory);
    expect(pool.stats().httpBytes).toBe(2 * body.length);
  });

  it('re-logs in once on 401 and retries', async () => {
    let first = true;
    const { pool } = await setup({
      get: () => {
        if (!first) return { status: 200, body: 'ok' };
        first = false;
        return { status: 401, headers: { 'content-type': 'text/html', 'WWW-Authenticate': 'Basic realm="rrd_updates"' }, body: '<html><body><h1>HTTP 401 unauthorised</h1></body></html>' };
      },
    });
    const res = await pool.getFromHost('OpaqueRef:host1', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal() });
    expect(res.body.toString()).toBe('ok');
    expect(pool.stats().logins).toBe(2);
  });

  it('reports a non-2xx status with XAPI_ERR_HTTP_STATUS', async () => {
    const { pool } = await setup({ get: () => ({ status: 500, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>HTTP 500 internal server error</h1></body></html>' }) });
    await expect(pool.getFromHost('OpaqueRef:host1', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal() })).rejects.toMatchObject({
      code: XapiErrorCode.HTTP_STATUS,
      details: { status: 500 },
    });
  });

  it('aborts a body past maxBytes, with and without Content-Length', async () => {
    const { pool } = await setup({
      get: (path) => (path.includes('declared') ? { status: 200, body: Buffer.alloc(10_000) } : { status: 200, headers: { 'transfer-encoding': 'chunked' }, body: Buffer.alloc(10_000) }),
    });
    for (const path of ['/declared', '/streamed']) {
      await expect(pool.getFromHost('OpaqueRef:host2', { path, query: {}, accept: 'text/xml', signal: signal(), maxBytes: 4096 })).rejects.toMatchObject({
        code: XapiErrorCode.RESPONSE_TOO_LARGE,
      });
    }
  });

  it('rejects a host that is not in the inventory', async () => {
    const { pool } = await setup();
    await expect(pool.getFromHost('OpaqueRef:nope', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal() })).rejects.toMatchObject({ code: XapiErrorCode.HOST_UNKNOWN });
  });

  it('times out a host that does not answer', async () => {
    const { pool } = await setup({ options: { requestTimeoutMs: 300 }, get: () => 'hang' });
    await expect(pool.getFromHost('OpaqueRef:host2', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal() })).rejects.toMatchObject({ code: XapiErrorCode.TIMEOUT });
  });

  it('keeps at most maxConcurrentHosts requests in flight', async () => {
    const held: (() => void)[] = [];
    const { pool } = await setup({
      options: { maxConcurrentHosts: 2 },
      get: () => new Promise<Reply>((resolve) => held.push(() => resolve({ status: 200, body: 'x' }))),
    });
    const requests = Array.from({ length: 5 }, () => pool.getFromHost('OpaqueRef:host2', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal() }));
    await until(() => held.length === 2, 'two requests held');
    await pool.call('SR.get_all', [], signal()); // a full round trip: a third request would have arrived by now
    expect(held.length).toBe(2);
    let released = 0;
    while (released < 5) {
      await until(() => held.length > released, 'next request');
      held[released++]!();
    }
    await expect(Promise.all(requests)).resolves.toHaveLength(5);
    expect(pool.stats().httpRequests).toBe(5);
  });
});

describe('close', () => {
  it('logs out, releases the pending event.from and is idempotent', async () => {
    const { master, pool } = await setup();
    await until(() => pool.stats().pendingEventCalls === 1, 'event.from pending');
    await Promise.all([pool.close(), pool.close()]);
    expect(methods(master).filter((m) => m === 'session.logout')).toHaveLength(1);
    expect(pool.stats().pendingEventCalls).toBe(0);
    await expect(pool.call('SR.get_all', [], signal())).rejects.toMatchObject({ code: XapiErrorCode.ABORTED });
    await expect(pool.close()).resolves.toBeUndefined();
  });

  it('rejects ready() waiters when closed before the first inventory', async () => {
    const dead = await deadUrl('127.0.0.7');
    const pool = createXapiPool(poolOptions([dead], logs), { retryBaseMs: 10_000 });
    void pool.start(signal()).catch(() => undefined);
    const waiting = pool.ready(signal());
    await pool.close();
    await expect(waiting).rejects.toMatchObject({ code: XapiErrorCode.ABORTED });
  });
});
