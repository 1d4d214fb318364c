// @ts-check
/**
 * npm start: compiles the server (scripts/lib/server-build.mjs: a second or less) and runs it in
 * this process. Plain JavaScript, so that the running portal carries no TypeScript loader.
 */
import { pathToFileURL } from 'node:url'
import { buildServer } from './lib/server-build.mjs'

const entry = await buildServer()
const { main } = await import(pathToFileURL(entry).href)
await main()
