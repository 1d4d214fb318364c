import type { FastifyPluginAsync } from 'fastify'
import { FiguresPage, figuresCsv } from '../../../views/pages/staff/figures.tsx'
import { staffView } from '../staff/view-context.ts'
import { today } from '../idva/repository.ts'
import { computeFigures } from './repository.ts'

/**
 * /staff/figures (and .csv): for the IDVA lead and the force's administrator, counted from metadata
 * only, small numbers suppressed (server/features/figures/repository.ts). An IDVA or an investigator
 * is refused.
 */
const figuresRoutes: FastifyPluginAsync = async (app) => {
  const access = { access: { roles: ['idva_lead', 'admin'] as const } }
  const figures = async () =>
    computeFigures(app.database.db, {
      today: await today(app.database.db),
      minimum: app.config.figuresMinimum,
      targetDays: app.config.firstReplyTargetDays,
      homeForce: app.routingPolicy.force,
      holidays: app.bankHoliday,
    })

  app.get('/staff/figures', { config: access }, async (request, reply) => reply.html(FiguresPage({ view: staffView(app, request), figures: await figures() })))

  app.get('/staff/figures.csv', { config: access }, async (_request, reply) =>
    reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="figures.csv"').send(figuresCsv(await figures())),
  )
}

export default figuresRoutes
