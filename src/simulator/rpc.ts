// XenAPI method dispatch, in xapi's order of checks: unknown method, parameter count, master/slave, session, RBAC.
// Every class in the datamodel gets get_all / get_all_records / get_record / get_by_uuid / get_by_name_label and a
// get_<field> per field, all served from the one generic PoolDb.
import type { SimRole, SimUser } from './api.ts';
import type { ClassName } from './datamodel.ts';
import { encodeEventBatch, formatToken, parseToken, SCHEMAS, type PoolDb, type SimObject } from './model.ts';
import { RpcDateTime, RpcRaw, RpcResponseBytes, failureResponse, successResponse, type DecodedValue, type RpcValue } from './xmlrpc.ts';

export class XapiFailure extends Error {
  readonly code: string;
  readonly params: string[];
  constructor(code: string, params: string[]) {
    super(code);
    this.name = 'XapiFailure';
    this.code = code;
    this.params = params;
  }
}

export interface Session {
  ref: string;
  uuid: string;
  user: SimUser;
  originator: string;
  hostRef: string;
  lastActiveRealMs: number;
}

/** What the dispatcher needs from the running pool. */
export interface RpcContext {
  readonly db: PoolDb;
  masterRef(): string;
  hostAddress(hostRef: string): string;
  /** Simulated time of a host (clock skew included), unix ms. */
  hostTimeMs(hostRef: string): number;
  managementPif(hostRef: string): string;
  /** Valid session or undefined (expired / unknown); touches last-active unless `touch` is false. */
  session(ref: string, touch?: boolean): Session | undefined;
  login(user: SimUser, originator: string, hostRef: string): Session;
  logout(ref: string): void;
  users(): readonly SimUser[];
  authFailureDelayMs(): number;
  setMultipathing(hostRef: string, value: boolean): void;
  /** Resolves when the DB changes or after `ms` (real time), whichever first. */
  waitForChange(ms: number, signal: AbortSignal): Promise<void>;
}

const ALL_ROLES: readonly SimRole[] = ['pool-admin', 'pool-operator', 'vm-power-admin', 'vm-admin', 'vm-operator', 'read-only'];
const POOL_OPERATOR: readonly SimRole[] = ['pool-admin', 'pool-operator'];
const VM_ADMIN: readonly SimRole[] = ['pool-admin', 'pool-operator', 'vm-power-admin', 'vm-admin'];

interface MethodDef {
  /** Parameters including the session (min..max for versioned params). */
  minArgs: number;
  maxArgs: number;
  /** No session needed (login). */
  noSession?: boolean;
  roles: readonly SimRole[];
  run(ctx: RpcContext, args: DecodedValue[], session: Session | undefined): RpcValue | RpcResponseBytes | Promise<RpcValue>;
}

const str = (v: DecodedValue | undefined): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v));

function lookup(ctx: RpcContext, cls: ClassName, ref: DecodedValue | undefined): SimObject {
  const r = str(ref);
  const o = ctx.db.getOf(cls, r);
  if (o === undefined) throw new XapiFailure('HANDLE_INVALID', [cls, r]);
  return o;
}

function buildMethods(): Map<string, MethodDef> {
  const m = new Map<string, MethodDef>();
  for (const schema of SCHEMAS.values()) {
    const cls = schema.name;
    const roles = cls === 'secret' ? POOL_OPERATOR : ALL_ROLES;
    m.set(`${cls}.get_all`, { minArgs: 1, maxArgs: 1, roles, run: (ctx) => [...ctx.db.all(cls)].map((o) => o.ref) });
    m.set(`${cls}.get_all_records`, { minArgs: 1, maxArgs: 1, roles, run: (ctx) => ctx.db.allRecordsResponse(cls) });
    m.set(`${cls}.get_record`, { minArgs: 2, maxArgs: 2, roles, run: (ctx, a) => ctx.db.record(lookup(ctx, cls, a[1])) });
    m.set(`${cls}.get_by_uuid`, {
      minArgs: 2, maxArgs: 2, roles,
      run: (ctx, a) => {
        const o = ctx.db.byUuid(cls, str(a[1]));
        if (o === undefined) throw new XapiFailure('UUID_INVALID', [cls, str(a[1])]);
        return o.ref;
      },
    });
    if (schema.byName.has('name_label')) {
      m.set(`${cls}.get_by_name_label`, {
        minArgs: 2, maxArgs: 2, roles,
        run: (ctx, a) => [...ctx.db.all(cls)].filter((o) => o.fields['name_label'] === str(a[1])).map((o) => o.ref),
      });
    }
    for (const f of schema.fields) {
      m.set(`${cls}.get_${f.name}`, {
        minArgs: 2, maxArgs: 2, roles,
        run: (ctx, a) => new RpcRaw(ctx.db.fieldXml(lookup(ctx, cls, a[1]), f.name) ?? '<value></value>'),
      });
    }
  }
  const setNameLabel = (cls: ClassName, roles: readonly SimRole[]): void => {
    m.set(`${cls}.set_name_label`, {
      minArgs: 3, maxArgs: 3, roles,
      run: (ctx, a) => {
        ctx.db.set(lookup(ctx, cls, a[1]).ref, 'name_label', str(a[2]));
        return '';
      },
    });
  };
  setNameLabel('pool', POOL_OPERATOR);
  setNameLabel('host', POOL_OPERATOR);
  setNameLabel('SR', POOL_OPERATOR);
  setNameLabel('VM', VM_ADMIN);
  m.set('host.set_multipathing', {
    minArgs: 3, maxArgs: 3, roles: POOL_OPERATOR,
    run: (ctx, a) => {
      const h = lookup(ctx, 'host', a[1]);
      const v = a[2];
      if (typeof v !== 'boolean') throw new XapiFailure('FIELD_TYPE_ERROR', ['value']);
      ctx.setMultipathing(h.ref, v);
      return '';
    },
  });

  m.set('session.login_with_password', {
    minArgs: 2, maxArgs: 4, noSession: true, roles: ALL_ROLES,
    run: async (ctx, a) => {
      const uname = str(a[0]);
      const user = ctx.users().find((u) => u.username === uname && u.password === str(a[1]));
      if (user === undefined) {
        // xapi delays every failed login (thread_delay_and_raise_error) to slow down password guessing.
        await new Promise((r) => setTimeout(r, ctx.authFailureDelayMs()));
        throw new XapiFailure('SESSION_AUTHENTICATION_FAILED', [uname, 'Authentication failure']);
      }
      return ctx.login(user, str(a[3]), ctx.masterRef()).ref;
    },
  });
  m.set('session.logout', {
    minArgs: 1, maxArgs: 1, roles: ALL_ROLES,
    run: (ctx, a) => {
      ctx.logout(str(a[0]));
      return '';
    },
  });
  m.set('session.get_this_host', {
    minArgs: 2, maxArgs: 2, roles: ALL_ROLES,
    run: (ctx, a, s) => {
      const target = str(a[1]);
      const other = target === s?.ref ? s : ctx.session(target);
      if (other === undefined) throw new XapiFailure('HANDLE_INVALID', ['session', target]);
      return other.hostRef;
    },
  });
  m.set('host.get_servertime', {
    minArgs: 2, maxArgs: 2, roles: ALL_ROLES,
    run: (ctx, a) => new RpcDateTime(ctx.hostTimeMs(lookup(ctx, 'host', a[1]).ref)),
  });
  m.set('host.get_management_interface', {
    minArgs: 2, maxArgs: 2, roles: ALL_ROLES,
    run: (ctx, a) => ctx.managementPif(lookup(ctx, 'host', a[1]).ref),
  });
  m.set('event.get_current_id', { minArgs: 1, maxArgs: 1, roles: ALL_ROLES, run: (ctx) => String(ctx.db.generation) });
  m.set('event.from', { minArgs: 4, maxArgs: 4, roles: ALL_ROLES, run: eventFrom });
  m.set('event.inject', { minArgs: 3, maxArgs: 3, roles: ALL_ROLES, run: eventInject });
  return m;
}

/**
 * `Xapi_event.inject`: the ref must name a row of exactly that table (case-sensitive: `VM`, `pool`), else
 * `HANDLE_INVALID [class, ref]`. xapi reads the generation, touches the row (the object then shows up as a `mod`)
 * and returns the token of the generation before the touch, so an event.from from it reports the touched object
 * and every later change. (xapi's counter is "next generation" and it returns `generation - 1`; ours is "last
 * generation", so the same token is our generation as it was.)
 */
function eventInject(ctx: RpcContext, a: DecodedValue[]): RpcValue {
  const cls = str(a[1]);
  const ref = str(a[2]);
  const obj = ctx.db.get(ref);
  if (obj === undefined || obj.cls !== cls) throw new XapiFailure('HANDLE_INVALID', [cls, ref]);
  return formatToken(ctx.db.touch(ref));
}

async function eventFrom(ctx: RpcContext, a: DecodedValue[]): Promise<RpcValue> {
  const rawClasses = Array.isArray(a[1]) ? a[1].map((c) => str(c)) : [];
  const classes: ReadonlySet<string> | 'all' = rawClasses.some((c) => c === '*')
    ? 'all'
    : new Set(rawClasses.map((c) => {
      const slash = c.indexOf('/');
      return slash < 0 ? c.toLowerCase() : `${c.slice(0, slash).toLowerCase()}${c.slice(slash)}`;
    }));
  const token = str(a[2]);
  const since = parseToken(token);
  if (since === undefined) throw new XapiFailure('EVENT_FROM_TOKEN_PARSE_FAILURE', [token]);
  const timeoutS = typeof a[3] === 'number' ? a[3] : Number(str(a[3]));
  const deadline = Date.now() + Math.max(0, Number.isFinite(timeoutS) ? timeoutS : 0) * 1000;
  const counts = (): Array<[string, number]> =>
    [...SCHEMAS.keys()].filter((c) => classes === 'all' || classes.has(c.toLowerCase())).map((c) => [c, ctx.db.count(c)]);
  let from = since;
  if (token === '') {
    const all = ctx.db.snapshotAll(classes);
    if (all.length > 0) return encodeEventBatch(all, counts(), formatToken(ctx.db.generation));
    from = ctx.db.generation;
  }
  const ac = new AbortController();
  try {
    for (;;) {
      const items = ctx.db.changesSince(from, classes);
      if (items === undefined) throw new XapiFailure('EVENTS_LOST', []);
      if (items.length > 0) return encodeEventBatch(items, counts(), formatToken(ctx.db.generation));
      // Move the cursor over changes to unwatched classes so a long wait does not rescan them.
      from = ctx.db.generation;
      const left = deadline - Date.now();
      if (left <= 0) return encodeEventBatch([], counts(), formatToken(ctx.db.generation));
      await ctx.waitForChange(left, ac.signal);
    }
  } finally {
    ac.abort();
  }
}

const METHODS = buildMethods();

export function isKnownMethod(name: string): boolean {
  return METHODS.has(name);
}

/** Runs one XML-RPC call on host `hostRef` and returns the methodResponse document (text, or cached bytes). */
export async function dispatch(ctx: RpcContext, hostRef: string, method: string, params: DecodedValue[]): Promise<string | Buffer> {
  try {
    const def = METHODS.get(method);
    if (def === undefined) throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', [method]);
    if (params.length < def.minArgs || params.length > def.maxArgs) {
      throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', [method, String(def.maxArgs), String(params.length)]);
    }
    const master = ctx.masterRef();
    const onSlave = hostRef !== master;
    let session: Session | undefined;
    if (def.noSession === true) {
      // Xapi_session.login_with_password refuses on a slave before looking at the credentials.
      if (onSlave) throw new XapiFailure('HOST_IS_SLAVE', [ctx.hostAddress(master)]);
    } else {
      // Session_check.check: the session is looked up first (unknown → SESSION_INVALID, also on a slave); a valid
      // session that is not an intra-pool one (every client session is not) on a slave → HOST_IS_SLAVE [master
      // address], before RBAC and without refreshing last_active (only the master does). xapi does not forward a
      // client's call from a slave to the master: message forwarding only runs on the master, towards hosts.
      const ref = str(params[0]);
      session = ctx.session(ref, !onSlave);
      if (session === undefined) throw new XapiFailure('SESSION_INVALID', [ref]);
      if (onSlave) throw new XapiFailure('HOST_IS_SLAVE', [ctx.hostAddress(master)]);
      if (!def.roles.includes(session.user.role)) {
        const permission = method.toLowerCase();
        throw new XapiFailure('RBAC_PERMISSION_DENIED', [permission, `No permission in user session. (Roles with this permission: ${def.roles.join(', ')})`]);
      }
    }
    const value = await def.run(ctx, params, session);
    return value instanceof RpcResponseBytes ? value.bytes : successResponse(value);
  } catch (err) {
    if (err instanceof XapiFailure) return failureResponse(err.code, err.params);
    return failureResponse('INTERNAL_ERROR', [err instanceof Error ? err.message : String(err)]);
  }
}

