// graphql-http's GraphQL-over-HTTP server audit against one live endpoint.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one JSON line per audit result, {id, name, status, reason}, where status is "ok",
// or, for a failure, graphql-http's severity: "error" (a MUST), "warn" (a SHOULD) or "notice"
// (a MAY). The requirement level is the first word of the name, as graphql-http reads it.
// Exits 1 when any MUST or SHOULD failed, 2 when the audit could not run at all.
import { auditServer } from 'graphql-http';

const BODY_PREVIEW = 300;

async function describe(result) {
  if (result.status === 'ok') return null;
  const response = result.response;
  if (!response) return result.reason;
  let body = '';
  try {
    body = (await response.text()).slice(0, BODY_PREVIEW);
  } catch {
    body = '(body already read by the audit)';
  }
  const type = response.headers.get('content-type') ?? 'no content-type';
  return `${result.reason} [HTTP ${response.status}, ${type}: ${body}]`;
}

async function main() {
  const url = process.argv[2];
  if (!url) {
    console.error('usage: node audit.mjs <graphql endpoint url>');
    return 2;
  }
  let results;
  try {
    results = await auditServer({ url });
  } catch (error) {
    // graphql-http throws only when an audit cannot run (the server is down, say).
    console.error(`the audit could not run against ${url}: ${error?.stack ?? error}`);
    return 2;
  }
  let failed = 0;
  for (const result of results) {
    const reason = await describe(result);
    console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason }));
    if (result.status === 'error' || result.status === 'warn') failed += 1;
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
