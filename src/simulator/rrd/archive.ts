// One round-robin database as xcp-rrdd keeps it (xapi-rrd `rrd.ml`): data sources, archives (RRAs) of float32
// rings, consolidation of 5 s primary data points (PDPs) into coarser consolidated data points (CDPs).
//
// Storage: one Float32Array per RRA, row-major (a row holds every column), so writing a PDP and reading a row for
// /rrd_updates are both contiguous. Rows are allocated lazily (grown by doubling up to the RRA's row count), so the
// hourly and daily archives of a young simulator cost almost nothing. Columns only ever grow (xcp-rrdd keeps a data
// source whose device went away, fed with unknowns); spare column capacity makes hot-plugs cheap.

export const TIMESTEP = 5;

export type CfName = 'AVERAGE' | 'MIN' | 'MAX' | 'LAST';
export type DsType = 'GAUGE' | 'DERIVE' | 'ABSOLUTE';

export interface DsDef {
  name: string;
  type: DsType;
  min: number;
  max: number;
}

/** `(rows, pdp per row)` per archive (xcp-rrdd `rrdd_shared.ml timescales`). */
export const TIMESCALES: ReadonlyArray<readonly [rows: number, pdp: number]> = [
  [120, 1],
  [120, 12],
  [168, 720],
  [366, 17280],
];

const INITIAL_ROW_CAPACITY = 8;

/**
 * Formatted text of stored rows for one output style (number format + value wrapping), per ring slot. A stored
 * row never changes once written (only columns appended later, whose old rows are NaN), so its text is reused by
 * every later /rrd_updates until the slot is overwritten; `cols` records how many columns the text covers.
 */
export class RowTextCache {
  readonly style: string;
  readonly text: Array<string | undefined>;
  readonly cols: Int32Array;
  constructor(style: string, rows: number) {
    this.style = style;
    this.text = new Array<string | undefined>(rows).fill(undefined);
    this.cols = new Int32Array(rows);
  }
}

export class Rra {
  readonly cf: CfName;
  readonly rows: number;
  readonly pdp: number;
  readonly xff: number;
  /** Column capacity of a row. */
  stride: number;
  /** Row capacity allocated so far (≤ rows). */
  capacity = 0;
  data: Float32Array | null = null;
  /** Slot of the newest row; -1 before the first push. */
  head = -1;
  /** Rows pushed, capped at `rows`. */
  count = 0;
  cdpValue: Float64Array;
  cdpUnknown: Int32Array;
  /** `cf_init_value` per column. */
  cdpInit: Float64Array;

  constructor(cf: CfName, rows: number, pdp: number, xff: number, stride: number) {
    this.cf = cf;
    this.rows = rows;
    this.pdp = pdp;
    this.xff = xff;
    this.stride = stride;
    this.cdpValue = new Float64Array(stride);
    this.cdpUnknown = new Int32Array(stride);
    this.cdpInit = new Float64Array(stride);
  }

  /** Row text caches, one per output style used so far (see render.ts). */
  textCaches: RowTextCache[] = [];

  /** Claims the slot for a new newest row and returns its offset in `data`. */
  pushRow(): number {
    if (this.count < this.rows) {
      if (this.count === this.capacity) this._growRows();
      this.head = this.count;
      this.count++;
    } else {
      this.head = this.head + 1 === this.rows ? 0 : this.head + 1;
    }
    const caches = this.textCaches;
    for (let i = 0; i < caches.length; i++) caches[i]!.text[this.head] = undefined;
    return this.head * this.stride;
  }

  /** Slot of row `i` (0 = newest) or -1 when that row was never written. */
  rowSlot(i: number): number {
    if (i < 0 || i >= this.count) return -1;
    const slot = this.head - i;
    return slot < 0 ? slot + this.rows : slot;
  }

  textCache(style: string): RowTextCache {
    for (const c of this.textCaches) if (c.style === style) return c;
    const c = new RowTextCache(style, this.rows);
    this.textCaches.push(c);
    return c;
  }

  /** Offset of row `i` (0 = newest) or -1 when that row was never written (it reads as NaN). */
  rowOffset(i: number): number {
    if (i < 0 || i >= this.count) return -1;
    let slot = this.head - i;
    if (slot < 0) slot += this.rows;
    return slot * this.stride;
  }

  peek(i: number, col: number): number {
    const off = this.rowOffset(i);
    return off < 0 || this.data === null ? Number.NaN : this.data[off + col]!;
  }

  /** Allocates room for `more` rows beyond those stored, at once (a history fill knows how many will come). */
  reserve(more: number): void {
    const want = Math.min(this.rows, this.count + more);
    if (want > this.capacity) this._growRows(want);
  }

  private _growRows(atLeast = 0): void {
    const capacity = Math.min(this.rows, Math.max(INITIAL_ROW_CAPACITY, this.capacity * 2, atLeast));
    // No NaN fill: a slot is only read once pushed (rowOffset/rowSlot check `count`), and a push writes every
    // column of the row, spare capacity included (Rrd.update).
    const data = new Float32Array(capacity * this.stride);
    if (this.data !== null) data.set(this.data);
    this.data = data;
    this.capacity = capacity;
  }

  setStride(stride: number): void {
    if (stride <= this.stride) return;
    if (this.data !== null) {
      const data = new Float32Array(this.capacity * stride);
      data.fill(Number.NaN);
      for (let r = 0; r < this.capacity; r++) data.set(this.data.subarray(r * this.stride, (r + 1) * this.stride), r * stride);
      this.data = data;
    }
    const v = new Float64Array(stride);
    v.set(this.cdpValue);
    const u = new Int32Array(stride);
    u.set(this.cdpUnknown);
    const init = new Float64Array(stride);
    init.set(this.cdpInit);
    this.cdpInit = init;
    this.cdpValue = v;
    this.cdpUnknown = u;
    this.stride = stride;
  }

  /** Bytes held by this archive. */
  bytes(): number {
    return (this.data?.byteLength ?? 0) + this.cdpValue.byteLength + this.cdpUnknown.byteLength;
  }
}

/** `cf_init_value` (CA-329043): the CF's neutral value clamped to the data source's range. */
function cfInit(cf: CfName, ds: DsDef): number {
  const neutral = cf === 'AVERAGE' ? 0 : cf === 'MIN' ? Infinity : cf === 'MAX' ? -Infinity : Number.NaN;
  return Math.min(ds.max, Math.max(ds.min, neutral));
}

export class Rrd {
  readonly dss: DsDef[] = [];
  readonly rras: Rra[] = [];
  /** Seconds; always a multiple of TIMESTEP here (the simulator updates on PDP boundaries). */
  lastUpdated: number;
  /** Last PDP fed per column (for rrddump's `last_ds`). */
  lastValues: Float64Array;
  /** The AVERAGE archives with pdp > 1 (consolidated together). */
  private readonly _avgRras: Rra[];
  private readonly _mins: number[] = [];
  private readonly _maxs: number[] = [];
  /** Changes whenever the column set changes (legend caches key on it). */
  version = 0;

  constructor(dss: readonly DsDef[], minMax: boolean, createdAt: number, spareColumns = 0) {
    const stride = Math.max(1, dss.length + spareColumns);
    for (const [rows, pdp] of TIMESCALES) {
      if (pdp > 1 && minMax) {
        this.rras.push(new Rra('AVERAGE', rows, pdp, 1.0, stride), new Rra('MIN', rows, pdp, 1.0, stride), new Rra('MAX', rows, pdp, 1.0, stride));
      } else {
        this.rras.push(new Rra('AVERAGE', rows, pdp, 0.5, stride));
      }
    }
    this._avgRras = this.rras.filter((r) => r.cf === 'AVERAGE' && r.pdp > 1);
    this.lastValues = new Float64Array(stride).fill(Number.NaN);
    this.lastUpdated = createdAt;
    for (const ds of dss) this.addDs(ds);
    this.version = 0;
  }

  get columnCount(): number {
    return this.dss.length;
  }

  /**
   * Appends a data source (xapi-rrd `rrd_add_ds`): NaN history in every archive; the PDPs of the current CDP that
   * passed before it existed count as unknown.
   */
  addDs(ds: DsDef): number {
    const col = this.dss.length;
    if (col === this.rras[0]!.stride) {
      const stride = col + Math.max(4, col >> 3);
      for (const rra of this.rras) rra.setStride(stride);
      const lv = new Float64Array(stride).fill(Number.NaN);
      lv.set(this.lastValues.subarray(0, col));
      this.lastValues = lv;
    }
    this.dss.push(ds);
    this._mins.push(ds.min);
    this._maxs.push(ds.max);
    const pdpIndex = Math.floor(this.lastUpdated / TIMESTEP);
    for (const rra of this.rras) {
      rra.cdpInit[col] = cfInit(rra.cf, ds);
      rra.cdpValue[col] = rra.cdpInit[col]!;
      rra.cdpUnknown[col] = 0;
      if (rra.pdp > 1) this._doCfsNaN(rra, col, pdpIndex % rra.pdp);
    }
    this.version++;
    return col;
  }

  /** `do_cfs` for one unknown PDP repeated `offset` times on one column. */
  private _doCfsNaN(rra: Rra, col: number, offset: number): void {
    const olddiv = rra.pdp - rra.cdpUnknown[col]!;
    const newdiv = olddiv - offset;
    if (newdiv > 0) {
      rra.cdpValue[col] = (rra.cdpValue[col]! * olddiv) / newdiv;
      rra.cdpUnknown[col] = rra.cdpUnknown[col]! + offset;
    }
  }

  /**
   * Feeds the PDP that ends at `t` (= lastUpdated + TIMESTEP) with one rate per column (NaN = unknown).
   * `pdps` is modified in place (out-of-range values become NaN, as rrd does).
   */
  update(t: number, pdps: Float64Array): void {
    const n = this.dss.length;
    const mins = this._mins;
    const maxs = this._maxs;
    for (let c = 0; c < n; c++) {
      const v = pdps[c]!;
      if (v < mins[c]! || v > maxs[c]!) pdps[c] = Number.NaN;
    }
    const last = this.lastValues;
    for (let c = 0; c < n; c++) last[c] = pdps[c]!;
    const pdpIndex = Math.round(t / TIMESTEP);
    // Every archive's CDP state is independent, so the AVERAGE archives are consolidated together in one pass
    // over the columns (same arithmetic, same order per archive) before the per-archive pushes.
    this._doCfsAverages(pdps, n);
    const rras = this.rras;
    for (let r = 0; r < rras.length; r++) {
      const rra = rras[r]!;
      if (rra.pdp === 1) {
        // The 5 s archive stores the PDP itself; an unknown PDP is a NaN row.
        const off = rra.pushRow();
        const data = rra.data!;
        data.set(pdps.subarray(0, n), off);
        // Spare columns read as NaN if a data source is added later (its history is unknown).
        if (n < rra.stride) data.fill(Number.NaN, off + n, off + rra.stride);
        continue;
      }
      if (rra.cf !== 'AVERAGE') this._doCfs(rra, 1, pdps, n);
      if (pdpIndex % rra.pdp === 0) {
        const threshold = Math.trunc(rra.xff * rra.pdp);
        const off = rra.pushRow();
        const data = rra.data!;
        const value = rra.cdpValue;
        const unknown = rra.cdpUnknown;
        const init = rra.cdpInit;
        for (let c = 0; c < n; c++) {
          data[off + c] = unknown[c]! <= threshold ? value[c]! : Number.NaN;
          value[c] = init[c]!;
          unknown[c] = 0;
        }
        if (n < rra.stride) data.fill(Number.NaN, off + n, off + rra.stride);
        // rrd calls do_cfs again with offset 0 after a push: a no-op for AVERAGE, but MIN/MAX take the boundary
        // PDP into the next CDP as well.
        if (rra.cf !== 'AVERAGE') this._doCfs(rra, 0, pdps, n);
      }
    }
    this.lastUpdated = t;
  }

  /** `_doCfs(rra, 1, …)` for every AVERAGE archive with pdp > 1, fused (the common three in one loop). */
  private _doCfsAverages(pdps: Float64Array, n: number): void {
    const avg = this._avgRras;
    if (avg.length !== 3) {
      for (const rra of avg) this._doCfs(rra, 1, pdps, n);
      return;
    }
    const a = avg[0]!;
    const b = avg[1]!;
    const d = avg[2]!;
    const va = a.cdpValue;
    const ua = a.cdpUnknown;
    const vb = b.cdpValue;
    const ub = b.cdpUnknown;
    const vd = d.cdpValue;
    const ud = d.cdpUnknown;
    const pa = a.pdp;
    const pb = b.pdp;
    const pd = d.pdp;
    for (let c = 0; c < n; c++) {
      const p = pdps[c]!;
      if (p === p) {
        // value + (p * offset) / pdp with offset 1
        va[c] = va[c]! + p / pa;
        vb[c] = vb[c]! + p / pb;
        vd[c] = vd[c]! + p / pd;
        continue;
      }
      let olddiv = pa - ua[c]!;
      if (olddiv - 1 > 0) {
        va[c] = (va[c]! * olddiv) / (olddiv - 1);
        ua[c] = ua[c]! + 1;
      }
      olddiv = pb - ub[c]!;
      if (olddiv - 1 > 0) {
        vb[c] = (vb[c]! * olddiv) / (olddiv - 1);
        ub[c] = ub[c]! + 1;
      }
      olddiv = pd - ud[c]!;
      if (olddiv - 1 > 0) {
        vd[c] = (vd[c]! * olddiv) / (olddiv - 1);
        ud[c] = ud[c]! + 1;
      }
    }
  }

  /** Straight port of `Rrd.do_cfs`. */
  private _doCfs(rra: Rra, offset: number, pdps: Float64Array, n: number): void {
    const value = rra.cdpValue;
    const unknown = rra.cdpUnknown;
    const pdpCnt = rra.pdp;
    const cf = rra.cf === 'AVERAGE' ? 0 : rra.cf === 'MIN' ? 1 : rra.cf === 'MAX' ? 2 : 3;
    for (let c = 0; c < n; c++) {
      const p = pdps[c]!;
      if (p !== p) {
        const olddiv = pdpCnt - unknown[c]!;
        const newdiv = olddiv - offset;
        if (newdiv > 0) {
          value[c] = (value[c]! * olddiv) / newdiv;
          unknown[c] = unknown[c]! + offset;
        }
      } else if (cf === 0) {
        value[c] = value[c]! + (p * offset) / pdpCnt;
      } else if (cf === 1) {
        if (p < value[c]!) value[c] = p;
      } else if (cf === 2) {
        if (p > value[c]!) value[c] = p;
      } else {
        value[c] = p;
      }
    }
  }

  /** Reserves ring rows for the next `pdps` updates in every archive. */
  reserve(pdps: number): void {
    for (const rra of this.rras) rra.reserve(Math.ceil(pdps / rra.pdp) + 1);
  }

  columnIndex(name: string): number {
    for (let c = 0; c < this.dss.length; c++) if (this.dss[c]!.name === name) return c;
    return -1;
  }

  bytes(): number {
    let b = this.lastValues.byteLength;
    for (const rra of this.rras) b += rra.bytes();
    return b;
  }
}
