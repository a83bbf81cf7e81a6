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

  /** Claims the slot for a new newest row and returns its offset in `data`. */
  pushRow(): number {
    if (this.count < this.rows) {
      if (this.count === this.capacity) this._growRows();
      this.head = this.count;
      this.count++;
    } else {
      this.head = this.head + 1 === this.rows ? 0 : this.head + 1;
    }
    return this.head * this.stride;
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

  private _growRows(): void {
    const capacity = Math.min(this.rows, Math.max(INITIAL_ROW_CAPACITY, this.capacity * 2));
    const data = new Float32Array(capacity * this.stride);
    data.fill(Number.NaN);
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
    for (const rra of this.rras) {
      if (rra.pdp === 1) {
        // The 5 s archive stores the PDP itself; an unknown PDP is a NaN row.
        const off = rra.pushRow();
        const data = rra.data!;
        for (let c = 0; c < n; c++) data[off + c] = pdps[c]!;
        continue;
      }
      this._doCfs(rra, 1, pdps, n);
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
        // rrd calls do_cfs again with offset 0 after a push: a no-op for AVERAGE, but MIN/MAX take the boundary
        // PDP into the next CDP as well.
        if (rra.cf !== 'AVERAGE') this._doCfs(rra, 0, pdps, n);
      }
    }
    this.lastUpdated = t;
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
