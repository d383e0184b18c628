-- Patch source sync: where a patchset came from, and when upstream stopped listing it.
-- Plain ADD COLUMNs (no table rebuild): both are nullable or have a constant default.
ALTER TABLE "Patchset" ADD COLUMN "origin" TEXT NOT NULL DEFAULT 'file';
ALTER TABLE "Patchset" ADD COLUMN "removedUpstreamAt" DATETIME;
