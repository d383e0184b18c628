-- CreateTable
CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "username" TEXT NOT NULL,
    "passwordHash" TEXT,
    "source" TEXT NOT NULL DEFAULT 'local',
    "readOnly" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastLoginAt" DATETIME
);

-- CreateTable
CREATE TABLE "Session" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "tokenHash" TEXT NOT NULL,
    "userId" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" DATETIME,
    "ip" TEXT NOT NULL DEFAULT '',
    "userAgent" TEXT NOT NULL DEFAULT '',
    CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "userId" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME,
    "lastUsedAt" DATETIME,
    "revokedAt" DATETIME,
    CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Feed" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "autoUpdate" BOOLEAN NOT NULL DEFAULT false,
    "deployAfterHours" INTEGER NOT NULL DEFAULT 0,
    "channel" TEXT NOT NULL DEFAULT 'default',
    "revision" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Key" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "key" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "serverLimit" INTEGER,
    "feedId" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Key_feedId_fkey" FOREIGN KEY ("feedId") REFERENCES "Feed" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Server" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "serverIdHash" TEXT NOT NULL,
    "serverIdHint" TEXT NOT NULL,
    "keyId" INTEGER,
    "hostname" TEXT NOT NULL DEFAULT '',
    "ip" TEXT NOT NULL DEFAULT '',
    "kernelId" TEXT,
    "effectiveKernel" TEXT,
    "release" TEXT,
    "machine" TEXT,
    "distro" TEXT,
    "distroVersion" TEXT,
    "agentVersion" TEXT,
    "patchLevel" INTEGER,
    "patchType" TEXT,
    "uptime" INTEGER,
    "virt" TEXT,
    "registeredAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastCheckinAt" DATETIME,
    CONSTRAINT "Server_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "Key" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ServerTag" (
    "serverId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "value" TEXT,

    PRIMARY KEY ("serverId", "name"),
    CONSTRAINT "ServerTag_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Patchset" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "product" TEXT NOT NULL DEFAULT 'kernel',
    "releasedAt" DATETIME NOT NULL,
    "appearedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "size" INTEGER NOT NULL DEFAULT 0,
    "sha256" TEXT NOT NULL,
    "channels" TEXT NOT NULL DEFAULT 'default',
    "blocked" BOOLEAN NOT NULL DEFAULT false,
    "changelog" TEXT NOT NULL DEFAULT '',
    "storeDir" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "PatchsetKernel" (
    "patchsetId" INTEGER NOT NULL,
    "kernelId" TEXT NOT NULL,
    "level" INTEGER NOT NULL,
    "patchTypes" TEXT NOT NULL DEFAULT 'default',

    PRIMARY KEY ("patchsetId", "kernelId"),
    CONSTRAINT "PatchsetKernel_patchsetId_fkey" FOREIGN KEY ("patchsetId") REFERENCES "Patchset" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PatchsetLibcare" (
    "patchsetId" INTEGER NOT NULL,
    "lib" TEXT NOT NULL,
    "buildId" TEXT NOT NULL,
    "path" TEXT NOT NULL,

    PRIMARY KEY ("patchsetId", "lib", "buildId"),
    CONSTRAINT "PatchsetLibcare_patchsetId_fkey" FOREIGN KEY ("patchsetId") REFERENCES "Patchset" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PatchsetCve" (
    "patchsetId" INTEGER NOT NULL,
    "kernelId" TEXT NOT NULL,
    "cve" TEXT NOT NULL,

    PRIMARY KEY ("patchsetId", "kernelId", "cve"),
    CONSTRAINT "PatchsetCve_patchsetId_fkey" FOREIGN KEY ("patchsetId") REFERENCES "Patchset" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Deployment" (
    "feedId" INTEGER NOT NULL,
    "patchsetId" INTEGER NOT NULL,
    "deployedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deployedBy" TEXT NOT NULL DEFAULT '',

    PRIMARY KEY ("feedId", "patchsetId"),
    CONSTRAINT "Deployment_feedId_fkey" FOREIGN KEY ("feedId") REFERENCES "Feed" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Deployment_patchsetId_fkey" FOREIGN KEY ("patchsetId") REFERENCES "Patchset" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Setting" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

-- CreateIndex
CREATE UNIQUE INDEX "Session_tokenHash_key" ON "Session"("tokenHash");

-- CreateIndex
CREATE INDEX "Session_userId_idx" ON "Session"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Feed_name_key" ON "Feed"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Key_key_key" ON "Key"("key");

-- CreateIndex
CREATE INDEX "Key_feedId_idx" ON "Key"("feedId");

-- CreateIndex
CREATE UNIQUE INDEX "Server_serverIdHash_key" ON "Server"("serverIdHash");

-- CreateIndex
CREATE INDEX "Server_keyId_id_idx" ON "Server"("keyId", "id");

-- CreateIndex
CREATE INDEX "Server_lastCheckinAt_idx" ON "Server"("lastCheckinAt");

-- CreateIndex
CREATE INDEX "Server_hostname_idx" ON "Server"("hostname");

-- CreateIndex
CREATE INDEX "Server_ip_idx" ON "Server"("ip");

-- CreateIndex
CREATE INDEX "Server_kernelId_idx" ON "Server"("kernelId");

-- CreateIndex
CREATE INDEX "ServerTag_name_value_idx" ON "ServerTag"("name", "value");

-- CreateIndex
CREATE UNIQUE INDEX "Patchset_name_key" ON "Patchset"("name");

-- CreateIndex
CREATE INDEX "Patchset_releasedAt_name_idx" ON "Patchset"("releasedAt", "name");

-- CreateIndex
CREATE INDEX "PatchsetKernel_kernelId_level_idx" ON "PatchsetKernel"("kernelId", "level");

-- CreateIndex
CREATE INDEX "PatchsetLibcare_buildId_idx" ON "PatchsetLibcare"("buildId");

-- CreateIndex
CREATE INDEX "PatchsetCve_cve_idx" ON "PatchsetCve"("cve");

-- CreateIndex
CREATE INDEX "Deployment_patchsetId_idx" ON "Deployment"("patchsetId");
