/**
 * The portal's one browser module. It is bundled (with crypto/ in later features) and served from
 * the portal itself; no inline scripts, no third-party hosts.
 */
import { installQuickExit } from './quick-exit.ts'

installQuickExit(document, window)
