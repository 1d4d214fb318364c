/**
 * The routing engine: pure, and safe to bundle for the browser (no Node modules here; loading a
 * policy file from disk is in policy-file.ts).
 */
export { route } from './engine.ts'
export { validateFacts, validatePolicy } from './validate.ts'
export * from './types.ts'
export { overrideCandidates, policyUnits, type PolicyUnit } from './units.ts'
