/**
 * One run at a time of a job within this instance: a call while a run is under way gets that run's
 * result instead of starting another. (Across instances, the jobs coordinate through the database.)
 */
export class SingleRun<T> {
  #running: Promise<T> | undefined

  constructor(private readonly work: () => Promise<T>) {}

  run(): Promise<T> {
    this.#running ??= this.work().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  /** Resolves once no run is under way (a failed run included), for a clean close. */
  async settled(): Promise<void> {
    await this.#running?.catch(() => undefined)
  }
}
