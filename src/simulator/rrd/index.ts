// Public surface of the simulator's RRD engine (the XAPI side of the simulator uses only this and contract.ts).
export { createRrdEngine, int64OfString } from './engine.ts';
export type { RrdEngineExtraOptions, RrdEngineWithStats } from './engine.ts';
export { wireProfileFor, WIRE_PRESETS } from './wire-profile.ts';
export { fToS } from './format.ts';
export type { NumberFormat } from './format.ts';
