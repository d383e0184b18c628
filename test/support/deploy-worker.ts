// A second (and third) client for concurrency tests: runs deploy/rollback
// operations against a data directory from its own process.
//   node --import tsx test/support/deploy-worker.ts DATA_DIR FEED_ID '[["deploy","K..."],["rollback","K..."]]'
import { loadConfig } from '../../server/config.js';
import { openDatabase } from '../../server/db/index.js';
import { deployUpTo, rollBackFrom } from '../../server/patches/deploy.js';

const [dataDir, feedId, opsJson] = process.argv.slice(2);
const db = await openDatabase(loadConfig({ EPORTAL_DATA_DIR: dataDir! }));
for (const [op, name] of JSON.parse(opsJson!) as [string, string][]) {
  if (op === 'deploy') await deployUpTo(db.prisma, Number(feedId), name);
  else await rollBackFrom(db.prisma, Number(feedId), name);
}
await db.close();
