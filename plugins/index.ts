// The receivers built into the agent (the collector's components.go). Only src/main.ts imports this file.

import { factory as multipath } from './multipath/index.ts';
import { factory as pbdAttachment } from './pbd_attachment/index.ts';
import { factory as rrdUpdates } from './rrd_updates/index.ts';
import { factory as srUsage } from './sr_usage/index.ts';
import { factory as storageTargets } from './storage_targets/index.ts';

export const builtinReceivers = [rrdUpdates, multipath, pbdAttachment, srUsage, storageTargets] as const;
