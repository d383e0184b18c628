// kc.eportal deploy ARCHIVE [--name N] [--feed F] [--disabled]: imports an
// archive carried in by hand (air-gapped sites) and deploys it, with
// everything older, to a feed; --disabled only imports it.
import path from 'node:path';
import { resolveFeed } from '../../commands/feeds.js';
import { deployUpTo } from '../../patches/deploy.js';
import { PATCHSET_NAME } from '../../patches/patchset-name.js';
import { importPatchset } from '../../patches/store.js';
import type { CliModule } from '../builder.js';
import { UsageError } from '../context.js';

interface Options {
  name?: string;
  feed?: string;
  disabled?: boolean;
  changelog?: string;
  sha256?: string;
}

/** The patchset name an archive file name carries: `K20240115_01.tar.bz2` → `K20240115_01`. */
export function nameFromArchive(file: string): string {
  return path.basename(file).replace(/\.(tar\.(gz|bz2|zst)|tgz|tbz2|tzst)$/i, '');
}

/** `deploy <archive>` */
export const deployCommand: CliModule = {
  register(cli) {
    cli.program
      .command('deploy')
      .description('import a patchset archive (.tar.gz, .tar.bz2, .tar.zst) and deploy it, with everything before it')
      .argument('<archive>', 'the archive file')
      .option('--name <name>', 'patchset name (default: the file name without extension)')
      .option('--feed <name>', 'feed to deploy to (default: the default feed)')
      .option('--disabled', 'only import; deploy nothing')
      .option('--sha256 <hex>', 'refuse the archive unless it has this checksum')
      .option('--changelog <file>', 'a changelog text file to keep with it')
      .action(async (archive: string, options: Options) => {
        const name = options.name ?? nameFromArchive(archive);
        if (!PATCHSET_NAME.test(name)) throw new UsageError(`cannot use '${name}' as a patchset name; pass --name`);
        const { loadConfig } = await import('../../config.js');
        const { readFile } = await import('node:fs/promises');
        const config = loadConfig(cli.ctx.io.env);
        const changelog = options.changelog ? await readFile(options.changelog, 'utf8') : undefined;
        await cli.ctx.withDatabase(async ({ prisma }) => {
          const feed = options.disabled ? null : await resolveFeed(prisma, options.feed);
          const r = await importPatchset(prisma, path.join(config.dataDir, 'patches'), path.resolve(archive), { name, expectedSha256: options.sha256, changelog });
          cli.ctx.out(r.alreadyPresent ? `patchset ${r.name} is already in the store` : `imported ${r.name}: ${r.kernels} kernels, ${r.files} files, ${r.bytes} bytes`);
          if (!feed) return;
          const d = await deployUpTo(prisma, feed.id, name, 'kc.eportal');
          cli.ctx.out(d.changed.length ? `deployed to feed '${d.feed}': ${d.changed.join(', ')}` : `feed '${d.feed}' already had ${name}`);
        });
      });
  },
};
