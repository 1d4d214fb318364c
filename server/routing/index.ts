/**
 * The routing engine, as the server and scripts/route.ts import it. The engine itself is pure and
 * lives in rules/routing/, below the server, the views and the browser bundle, which all use it;
 * reading a policy file from disk is here, in policy-file.ts.
 */
export * from '../../rules/routing/index.ts'
