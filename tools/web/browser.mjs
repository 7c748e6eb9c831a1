// Lancement commun de Chromium (paquet Debian « chromium ») par playwright-core, pour axe.mjs et
// screenshot.mjs. Aucun navigateur n'est téléchargé : on pilote celui du système.

import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function fail(tool, code, text) {
  process.stderr.write(`${tool} : ${text}\n`);
  process.exit(code);
}

/** Lance Chromium sans tête, ou quitte avec le code 2 et un message en français. */
export async function launchChromium(tool) {
  if (!existsSync(CHROMIUM)) {
    fail(tool, 2, `Chromium est introuvable (${CHROMIUM}) : installez le paquet Debian chromium (apt-get install chromium) ou lancez « make web-deps » ; la variable CHROMIUM peut désigner un autre exécutable.`);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    fail(tool, 2, 'playwright-core est introuvable : lancez « make web-deps » (ou npm ci --prefix tools/web).');
  }
  try {
    // playwright crée lui-même un profil temporaire neuf (--user-data-dir) et le supprime à la fin.
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-extensions',
        '--disable-default-apps',
        '--metrics-recording-only',
        '--password-store=basic',
        '--use-mock-keychain',
      ],
    });
  } catch (e) {
    fail(tool, 2, `échec du lancement de Chromium (${CHROMIUM}) : ${e.message}`);
  }
}

/** Ouvre `url` dans `page` ; quitte avec le code 2 si la page ne se charge pas. */
export async function open(tool, page, url) {
  let response;
  try {
    response = await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  } catch (e) {
    fail(tool, 2, `impossible d'ouvrir ${url} : ${e.message.split('\n')[0]}`);
  }
  if (response && response.status() >= 400) {
    fail(tool, 2, `${url} a répondu ${response.status()}`);
  }
  // Polices chargées avant de mesurer les contrastes ou de photographier.
  await page.evaluate(() => document.fonts && document.fonts.ready).catch(() => {});
}
