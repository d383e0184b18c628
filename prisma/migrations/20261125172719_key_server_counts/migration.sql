-- Servers per key (keyId 0 = without a key), maintained by triggers so that the
-- start page and the key inventory read a table the size of the key list
-- instead of counting Server (1,000,000 rows). Foreign-key cascades (deleting a
-- key deletes its servers) fire these triggers too.

-- CreateTable
CREATE TABLE "KeyServerCount" (
    "keyId" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "count" INTEGER NOT NULL DEFAULT 0
);

-- Seed from the servers already present.
INSERT INTO "KeyServerCount" ("keyId", "count")
SELECT COALESCE("keyId", 0), COUNT(*) FROM "Server" GROUP BY COALESCE("keyId", 0);

CREATE TRIGGER "Server_count_insert" AFTER INSERT ON "Server"
BEGIN
  INSERT INTO "KeyServerCount" ("keyId", "count") VALUES (COALESCE(NEW."keyId", 0), 1)
  ON CONFLICT ("keyId") DO UPDATE SET "count" = "count" + 1;
END;

CREATE TRIGGER "Server_count_delete" AFTER DELETE ON "Server"
BEGIN
  UPDATE "KeyServerCount" SET "count" = "count" - 1 WHERE "keyId" = COALESCE(OLD."keyId", 0);
END;

CREATE TRIGGER "Server_count_rekey" AFTER UPDATE OF "keyId" ON "Server"
WHEN COALESCE(OLD."keyId", 0) <> COALESCE(NEW."keyId", 0)
BEGIN
  UPDATE "KeyServerCount" SET "count" = "count" - 1 WHERE "keyId" = COALESCE(OLD."keyId", 0);
  INSERT INTO "KeyServerCount" ("keyId", "count") VALUES (COALESCE(NEW."keyId", 0), 1)
  ON CONFLICT ("keyId") DO UPDATE SET "count" = "count" + 1;
END;

CREATE TRIGGER "Key_count_delete" AFTER DELETE ON "Key"
BEGIN
  DELETE FROM "KeyServerCount" WHERE "keyId" = OLD."id";
END;
