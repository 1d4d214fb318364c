import t from 'tap'
import { PageCache } from '../../server/http/page-cache.ts'

t.test('a page the same for everyone is rendered once per key, and the cache stays bounded', async (t) => {
  const cache = new PageCache(3)
  let renders = 0
  const page = (text: string) => () => {
    renders++
    return `<p>${text}</p>`
  }
  t.equal(String(await cache.render('/ {"name":"A"}', page('a'))), '<p>a</p>')
  t.equal(String(await cache.render('/ {"name":"A"}', page('not used'))), '<p>a</p>', 'the same key: the page kept')
  t.equal(renders, 1)
  t.equal(String(await cache.render('/ {"name":"B"}', page('b'))), '<p>b</p>', 'another state of the service: rendered again')
  t.equal(String(await cache.render('/report', async () => '<p>async</p>')), '<p>async</p>', 'an async page too')
  t.equal(cache.size, 3)
  await cache.render('/managers', page('m'))
  t.equal(cache.size, 1, 'beyond its capacity it starts again empty, so it never grows without bound')
})
