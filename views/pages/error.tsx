import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'

export interface ErrorPageProps {
  readonly context: PageContext
  readonly title: string
  readonly message: string
  /** Shown for faults on our side, so a person can quote it; it identifies the log entry only. */
  readonly reference?: string | undefined
}

export function ErrorPage({ context, title, message, reference }: ErrorPageProps): JSX.Element {
  return (
    <Layout context={context} title={title}>
      <h1 safe>{title}</h1>
      <p safe>{message}</p>
      {reference === undefined ? (
        ''
      ) : (
        <p>
          If this keeps happening, the reference for this problem is <code safe>{reference}</code>.
        </p>
      )}
      <p>
        <a href="/">Go to the start page</a>
      </p>
    </Layout>
  )
}
