#!/bin/sh
# Stand-in for Prisma's native schema engine on offline machines: only `prisma generate` uses the CLI here.
echo "schema engine stub: migrations are applied by server/db/migrate.ts" >&2
exit 1
