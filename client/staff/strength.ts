/**
 * Passphrase strength, estimated in the browser with zxcvbn-ts (the passphrase never leaves it).
 * The dictionaries are large, so they load only on the pages that set a passphrase.
 */

export const MIN_SCORE = 3
export const MIN_CHARACTERS = 12

export interface Strength {
  readonly acceptable: boolean
  readonly message: string
}

type Checker = (passphrase: string, userInputs: string[]) => { score: number; feedback: { warning: string | null; suggestions: string[] } }

let checker: Promise<Checker> | undefined

async function loadChecker(): Promise<Checker> {
  const [{ ZxcvbnFactory }, common, english] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')])
  const zxcvbn = new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  })
  return (passphrase, userInputs) => zxcvbn.check(passphrase, userInputs)
}

export async function estimateStrength(passphrase: string, userInputs: string[]): Promise<Strength> {
  const characters = [...passphrase.normalize('NFKC')].length
  if (characters < MIN_CHARACTERS) {
    return { acceptable: false, message: `Use at least ${MIN_CHARACTERS} characters (${characters} so far).` }
  }
  checker ??= loadChecker()
  const result = (await checker)(passphrase.slice(0, 256), userInputs)
  if (result.score >= MIN_SCORE) return { acceptable: true, message: 'This passphrase is strong enough.' }
  const advice = [result.feedback.warning, ...result.feedback.suggestions].filter((line): line is string => typeof line === 'string' && line !== '')
  return {
    acceptable: false,
    message: `This passphrase would be too easy to guess. ${advice.join(' ') || 'Add another word or two that are not related to each other.'}`,
  }
}
