// The load shared by "all servers" and "servers of a key".
import { gql } from './api/client.js';
import { FEEDS, KEYS, SERVERS } from './api/operations.js';
import { readServerQuery, serverVariables } from './server-query.js';

/** Loads one page of servers for the URL's filters, with the keys and feeds for the filter menus. */
export async function loadServerPage(url: URL, fixedKey?: string) {
  const query = readServerQuery(url.searchParams);
  const [{ servers }, { keys }, { feeds }] = await Promise.all([gql(SERVERS, serverVariables(query, fixedKey)), gql(KEYS), gql(FEEDS)]);
  return { servers, query, keys, feeds };
}
