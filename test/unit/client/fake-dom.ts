/**
 * Just enough of the DOM for the thread view's builders to run in Node: elements with a tag, class,
 * dataset, attributes set as properties, children and textContent. Text is only ever text here, as
 * in the browser: nothing is parsed as HTML.
 */
export class FakeElement {
  className = ''
  dir = ''
  type = ''
  disabled = false
  readonly dataset: Record<string, string> = {}
  readonly children: (FakeElement | string)[] = []
  readonly listeners: Record<string, (() => void)[]> = {}

  constructor(readonly tagName: string) {}

  get textContent(): string {
    return this.children.map((child) => (typeof child === 'string' ? child : child.textContent)).join('')
  }

  /** As in the browser, whatever is set becomes text (a function included). */
  set textContent(text: string) {
    this.children.splice(0, this.children.length, String(text))
  }

  append(...nodes: (FakeElement | string)[]): void {
    this.children.push(...nodes)
  }

  clicks = 0

  click(): void {
    this.clicks++
    for (const listener of this.listeners.click ?? []) listener()
  }

  addEventListener(event: string, listener: () => void): void {
    ;(this.listeners[event] ??= []).push(listener)
  }

  /** Every descendant element, depth first. */
  all(): FakeElement[] {
    return this.children.flatMap((child) => (typeof child === 'string' ? [] : [child, ...child.all()]))
  }

  find(tagName: string): FakeElement[] {
    return this.all().filter((element) => element.tagName === tagName)
  }
}

/** Installs a fake `document`: createElement, and querySelector answering from `found`. */
export function installFakeDocument(found: Record<string, unknown> = {}): FakeElement[] {
  const created: FakeElement[] = []
  ;(globalThis as { document?: unknown }).document = {
    createElement: (tag: string) => {
      const element = new FakeElement(tag)
      created.push(element)
      return element
    },
    querySelector: (selector: string) => found[selector] ?? null,
  }
  return created
}
