import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { StaffView } from '../../../views/staff/layout.tsx'

/** What staff pages need: the page context, and who is signed in (never any key or content). */
export function staffView(app: FastifyInstance, request: FastifyRequest): StaffView {
  const staff = request.staff
  return {
    page: app.pageContext,
    servicePin: app.anchor.pin,
    staff: staff === null ? null : { accountId: staff.accountId, username: staff.username, role: staff.role, csrfToken: staff.csrfToken, stage: staff.stage },
  }
}
