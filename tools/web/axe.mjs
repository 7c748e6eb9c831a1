#!/usr/bin/env node
// Audit d'accessibilité axe-core dans Chromium (critères WCAG 2.0/2.1 A et AA et WCAG 2.2 AA ;
// le RGAA 4 s'appuie sur WCAG 2.1 AA).
//
//   node tools/web/axe.mjs URL...
//
// Écrit sur la sortie standard un seul document JSON :
//   {"pages": {"<url>": [{"id","impact","help","helpUrl","nodes":["<sélecteur>"...]}...]},
//    "violations": N,   // règles en échec, toutes pages confondues
//    "nodes": M,        // éléments en cause, toutes pages confondues
//    "axe": "<version>"}
// Code de sortie : 0 sans violation, 1 s'il y en a, 2 pour un usage incorrect, une page qui ne se
// charge pas, ou Chromium absent (paquet Debian chromium ; variable CHROMIUM pour un autre chemin).

import { createRequire } from 'node:module';
import { fail, launchChromium, open } from './browser.mjs';

const TOOL = 'axe.mjs';
const USAGE = 'usage : node tools/web/axe.mjs URL...';
export const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const urls = process.argv.slice(2);
if (urls.includes('-h') || urls.includes('--help')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (urls.length === 0) fail(TOOL, 2, `aucune URL\n${USAGE}`);
for (const u of urls) {
  if (u.startsWith('-')) fail(TOOL, 2, `option inconnue : ${u}\n${USAGE}`);
  try {
    new URL(u);
  } catch {
    fail(TOOL, 2, `URL invalide : ${u} (ex. http://127.0.0.1:8000/ ou file:///chemin/page.html)\n${USAGE}`);
  }
}

let axe;
try {
  axe = createRequire(import.meta.url)('axe-core');
} catch {
  fail(TOOL, 2, 'axe-core est introuvable : lancez « make web-deps » (ou npm ci --prefix tools/web).');
}

const browser = await launchChromium(TOOL);
const out = { pages: {}, violations: 0, nodes: 0, axe: axe.version };
try {
  // The pages forbid scripts by CSP; the audit injects axe-core, so it bypasses CSP (as a
  // browser extension would) without weakening what the pages send.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR', bypassCSP: true });
  for (const url of urls) {
    const page = await context.newPage();
    await open(TOOL, page, url);
    await page.addScriptTag({ content: axe.source });
    const violations = await page.evaluate(
      async (tags) => {
        // eslint-disable-next-line no-undef
        const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
        return r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          // target : chaîne de sélecteurs (plusieurs s'il traverse iframe ou shadow DOM).
          nodes: v.nodes.map((n) => n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(' >>> ')),
        }));
      },
      TAGS,
    );
    out.pages[url] = violations;
    out.violations += violations.length;
    out.nodes += violations.reduce((s, v) => s + v.nodes.length, 0);
    await page.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(out.violations === 0 ? 0 : 1);
