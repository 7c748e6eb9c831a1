#!/usr/bin/env node
// Capture d'écran pleine page d'une URL dans Chromium, pour le README.
//
//   node tools/web/screenshot.mjs URL SORTIE.png [LARGEUR]
//
// LARGEUR : largeur de la fenêtre en pixels CSS (1000 par défaut) ; la hauteur suit la page
// (fenêtre de 800 px de haut, réduite à la hauteur de la page si elle est plus courte).
// Code de sortie : 0 si la capture est écrite, 2 pour un usage incorrect, une page qui ne se charge
// pas, ou Chromium absent (paquet Debian chromium ; variable CHROMIUM pour un autre chemin).

import { fail, launchChromium, open } from './browser.mjs';

const TOOL = 'screenshot.mjs';
const USAGE = 'usage : node tools/web/screenshot.mjs URL SORTIE.png [LARGEUR]';

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.length < 2 || args.length > 3) fail(TOOL, 2, USAGE);
const [url, outPath, widthArg = '1000'] = args;
try {
  new URL(url);
} catch {
  fail(TOOL, 2, `URL invalide : ${url}\n${USAGE}`);
}
if (!outPath.endsWith('.png')) fail(TOOL, 2, `la sortie doit être un fichier .png : ${outPath}`);
const width = Number(widthArg);
if (!Number.isInteger(width) || width < 200 || width > 4000) {
  fail(TOOL, 2, `largeur invalide : ${widthArg} (entier entre 200 et 4000)`);
}

const browser = await launchChromium(TOOL);
try {
  const context = await browser.newContext({
    viewport: { width, height: 800 },
    deviceScaleFactor: 1,
    locale: 'fr-FR',
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  await open(TOOL, page, url);
  // Page plus courte que la fenêtre : on ajuste la hauteur pour ne pas photographier du vide.
  await page.setViewportSize({ width, height: 100 });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width, height: Math.min(Math.max(height, 100), 800) });
  await page.screenshot({ path: outPath, fullPage: true, animations: 'disabled' });
} finally {
  await browser.close();
}
process.stderr.write(`${TOOL} : ${outPath} écrit (${width} px de large)\n`);
