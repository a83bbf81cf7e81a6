// A small pool model behind fake hosts: sessions, records, an event log with tokens, one-shot faults.
import { DateTimeValue, RawXml, xapiFailure, xapiSuccess, xapiValue, type FakeHost, type Reply, type RpcCall, type XapiWire } from './fake-xapi.ts';

type Struct = { [key: string]: XapiWire };

export interface FakeEvent {
  id: number;
  cls: string; // wire class, e.g. 'VM'
  operation: 'add' | 'mod' | 'del';
  ref: string;
}

export class FakePool {
  readonly users = new Map<string, string>([['root', 'p@ss<&>word']]);
  readonly sessions = new Set<string>();
  /** wire class → ref → record */
  readonly records = new Map<string, Map<string, Struct>>();
  readonly events: FakeEvent[] = [];
  /** Tokens older than this answer EVENTS_LOST. */
  lostBefore = 0;
  /** Address HOST_IS_SLAVE names; the host serving `masterAddress` is the master. */
  masterAddress = '127.0.0.1';
  serverTime = '20250102T03:04:05Z';
  /** One-shot replies per method, consumed in order. */
  readonly faults = new Map<string, Reply[]>();
  private _nextSession = 1;
  private _waiters = new Set<() => void>();
  private _shutdown = false;

  constructor() {
    for (const cls of ['pool', 'host', 'host_metrics', 'VM', 'SR', 'PBD', 'VBD', 'VIF', 'PIF']) this.records.set(cls, new Map());
  }

  get token(): string {
    return String(this.events.at(-1)?.id ?? 0).padStart(20, '0');
  }

  put(cls: string, ref: string, record: Struct, operation: 'add' | 'mod' = 'mod'): void {
    this.records.get(cls)!.set(ref, record);
    this._log(cls, operation, ref);
  }

  remove(cls: string, ref: string): void {
    this.records.get(cls)!.delete(ref);
    this._log(cls, 'del', ref);
  }

  fail(method: string, ...replies: Reply[]): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...replies]);
  }

  /** Releases every held event.from (call before closing the hosts). */
  shutdown(): void {
    this._shutdown = true;
    for (const wake of this._waiters) wake();
  }

  invalidateSessions(): void {
    this.sessions.clear();
  }

  private _log(cls: string, operation: FakeEvent['operation'], ref: string): void {
    this.events.push({ id: (this.events.at(-1)?.id ?? 0) + 1, cls, operation, ref });
    for (const wake of this._waiters) wake();
  }

  /** The RPC handler for a fake host; `self` decides whether that host is the master. */
  rpc = async (call: RpcCall, self: FakeHost): Promise<Reply> => {
    const fault = this.faults.get(call.method)?.shift();
    if (fault !== undefined) return fault;
    const isMaster = self.address === this.masterAddress;
    const [first, ...args] = call.params as unknown[];
    if (call.method === 'session.login_with_password') {
      if (!isMaster) return xapiFailure(['HOST_IS_SLAVE', this.masterAddress]);
      const [password] = args;
      if (this.users.get(String(first)) !== password) return xapiFailure(['SESSION_AUTHENTICATION_FAILED', String(first), 'Authentication failure']);
      const ref = `OpaqueRef:session-${this._nextSession++}-secret`;
      this.sessions.add(ref);
      return xapiSuccess(xapiValue(ref));
    }
    if (!this.sessions.has(String(first))) return xapiFailure(['SESSION_INVALID', String(first)]);
    if (!isMaster) return xapiFailure(['HOST_IS_SLAVE', this.masterAddress]);
    const [cls, op] = splitMethod(call.method);
    switch (call.method) {
      case 'session.logout':
        this.sessions.delete(String(first));
        return xapiSuccess('<value></value>');
      case 'event.inject':
        return xapiSuccess(xapiValue(this.token));
      case 'host.get_servertime':
        return xapiSuccess(xapiValue(new DateTimeValue(this.serverTime)));
      case 'event.from':
        return this._eventFrom(args[0] as string[], String(args[1]), Number(args[2]));
    }
    const table = this.records.get(cls);
    if (table !== undefined && op === 'get_all_records') return xapiSuccess(xapiValue(Object.fromEntries(table)));
    if (table !== undefined && op === 'get_all') return xapiSuccess(xapiValue([...table.keys()]));
    return xapiFailure(['MESSAGE_METHOD_UNKNOWN', call.method]);
  };

  private async _eventFrom(classes: string[], token: string, timeoutSeconds: number): Promise<Reply> {
    const wanted = new Set(classes.map((c) => c.toLowerCase()));
    if (token === '') {
      const events: XapiWire[] = [];
      for (const [cls, table] of this.records) {
        if (!wanted.has(cls.toLowerCase())) continue;
        for (const [ref, snapshot] of table) events.push(eventStruct(0, cls, 'add', ref, snapshot));
      }
      return batch(events, this.token);
    }
    const since = Number(token);
    if (since < this.lostBefore) return xapiFailure(['EVENTS_LOST']);
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const fresh = this.events.filter((e) => e.id > since && wanted.has(e.cls.toLowerCase()));
      if (fresh.length > 0) {
        return batch(
          fresh.map((e) => eventStruct(e.id, e.cls, e.operation, e.ref, e.operation === 'del' ? undefined : this.records.get(e.cls)!.get(e.ref))),
          this.token,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this._shutdown) return batch([], this.token);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        this._waiters.add(done);
        const waiters = this._waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
      });
    }
  }
}

function splitMethod(method: string): [string, string] {
  const dot = method.indexOf('.');
  return [method.slice(0, dot), method.slice(dot + 1)];
}

function eventStruct(id: number, cls: string, operation: string, ref: string, snapshot: Struct | undefined): XapiWire {
  const event: Struct = { id: String(id), timestamp: '0.0', class: cls.toLowerCase(), operation, ref };
  if (snapshot !== undefined) event['snapshot'] = snapshot;
  return event;
}

function batch(events: XapiWire[], token: string): string {
  return xapiSuccess(xapiValue({ events, valid_ref_counts: { vm: new RawXml('<value><i4>1</i4></value>') }, token }));
}

/** A two-host pool in xapi's wire form (ints as strings), hosts at 127.0.0.1 and `slaveAddress`. */
export function seedPool(pool: FakePool, slaveAddress = '127.0.0.3'): void {
  pool.put('pool', 'OpaqueRef:pool', { uuid: 'pool-uuid', name_label: 'pool one', name_description: '', master: 'OpaqueRef:host1', default_SR: 'OpaqueRef:sr1', other_config: {} }, 'add');
  const host = (n: number, address: string): Struct => ({
    uuid: `host${n}-uuid`, name_label: `host ${n}`, name_description: '', address, hostname: `xcp${n}`, enabled: true,
    software_version: { product_version: '8.3.0', xapi_build: '26.4.0' }, other_config: { 'mpath-boot': '[2, 2]' }, multipathing: false,
    resident_VMs: [`OpaqueRef:dom0-${n}`], control_domain: `OpaqueRef:dom0-${n}`, metrics: `OpaqueRef:hm${n}`, PBDs: [`OpaqueRef:pbd${n}`], PIFs: [],
    cpu_info: { cpu_count: '8' }, API_version_major: '2', API_version_minor: '21', memory_overhead: '404656128',
  });
  pool.put('host', 'OpaqueRef:host1', host(1, pool.masterAddress), 'add');
  pool.put('host', 'OpaqueRef:host2', host(2, slaveAddress), 'add');
  pool.put('host_metrics', 'OpaqueRef:hm1', { uuid: 'hm1-uuid', memory_total: '34359738368', memory_free: '17179869184', live: true, last_updated: new DateTimeValue('20250101T00:00:00Z'), other_config: {} }, 'add');
  pool.put('VM', 'OpaqueRef:vm1', {
    uuid: 'vm1-uuid', name_label: 'web 1', name_description: '', power_state: 'Running', is_a_template: false, is_default_template: false,
    is_a_snapshot: false, is_control_domain: false, resident_on: 'OpaqueRef:host2', domid: '7', metrics: 'OpaqueRef:vmm1', VBDs: ['OpaqueRef:vbd1'],
    VIFs: [], VCPUs_max: '4', VCPUs_at_startup: '2', memory_static_max: '4294967296', memory_dynamic_max: '4294967296',
    memory_target: '4294967296', other_config: {}, tags: ['prod'],
  }, 'add');
  pool.put('VM', 'OpaqueRef:dom0-1', {
    uuid: 'dom0-1-uuid', name_label: 'Control domain on host: xcp1', power_state: 'Running', is_control_domain: true, domid: '0',
    resident_on: 'OpaqueRef:host1', other_config: { is_system_domain: 'true' },
  }, 'add');
  pool.put('SR', 'OpaqueRef:sr1', {
    uuid: 'sr1-uuid', name_label: 'iSCSI', type: 'lvmoiscsi', content_type: 'user', shared: true, physical_size: '-1',
    physical_utilisation: '-1', virtual_allocation: '0', PBDs: ['OpaqueRef:pbd1'], VDIs: [], other_config: {}, sm_config: { multipathable: 'true' },
  }, 'add');
  pool.put('PBD', 'OpaqueRef:pbd1', {
    uuid: 'pbd1-uuid', host: 'OpaqueRef:host1', SR: 'OpaqueRef:sr1', device_config: { target: '10.0.0.9', chappassword_secret: 'x-uuid' },
    currently_attached: true, other_config: { 'mpath-3600a0b8': '[1, 2]' },
  }, 'add');
}
