// Leaf library shared by the storage receivers (sr_usage, pbd_attachment, multipath, storage_targets).
export { HOST_POINT_ATTRIBUTES, HOST_POINT_ATTRIBUTE_DOCS, hostPointAttributes, type StorageAttributes } from './identity.ts';
export {
  MPATH_BOOT_KEY,
  MPATH_KEY_PREFIX,
  describeBadValue,
  mpathEntries,
  parsePathCount,
  type MpathEntry,
  type PathCount,
} from './paths.ts';
export { readInventories, type PoolFailure, type PoolSnapshot, type PoolSource } from './pools.ts';
export {
  STORAGE_ERR_NO_INVENTORY,
  STORAGE_ERR_POOL_UNAVAILABLE,
  createStorageScraper,
  readStoragePools,
  scrapeStoragePools,
  type RecordPool,
  type StorageScrapeApi,
  type StorageScrapeConfig,
  type StorageScrapeSettings,
  type StorageScraperSettings,
} from './scrape.ts';
export { hostRecordProblem, resolvePbd, sortedByUuid, srRecordProblem, type ResolvedPbd } from './records.ts';
