// A full garbage collection without `--expose-gc` on the command line: the memory tests run under plain vitest and
// the bench with the product's flags only. `--expose-gc` set at run time only installs `gc` in contexts created
// afterwards, so the function is taken from a new one.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const forceGc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();
